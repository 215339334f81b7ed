// swift-tools-version: 6.1
import PackageDescription

// Layers, each depending only on the ones above it:
//   VMClockPage      pure: page layout, validation, exact time and error math
//   CVMClockCounter  tiny C: CPU counter reads and memory barriers
//   VMClockAccess    the device: mmap/pread, seqlock snapshots, cross-timestamps
//   ChronyClients    chronyd's SOCK refclock and command (cmdmon) protocols
//   VMClockDaemon    the state machine (pure) and the loop that runs it
//   CSystemd, VMClockService  systemd: readiness, watchdog, status, journal
//   VMClockSimulation  the page writer behind vmclock-sim
//   vmclockd, vmclock-sim  command-line front ends
let package = Package(
    name: "vmclockd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vmclockd", targets: ["vmclockd"]),
        .executable(name: "vmclock-sim", targets: ["vmclock-sim"]),
        .library(name: "vmclockd-allocation-count", type: .dynamic, targets: ["CAllocationCount"]),
        .library(name: "vmclockd-fault-injection", type: .dynamic, targets: ["CFaultInjection"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        // Benchmarks only (Sources/Benchmarks/vmclock-bench); see BENCHMARKS.md.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(name: "VMClockPage"),
        .target(name: "CVMClockCounter"),
        .target(
            name: "VMClockAccess",
            dependencies: [
                "VMClockPage", "CVMClockCounter",
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .target(
            name: "ChronyClients",
            dependencies: [.product(name: "SystemPackage", package: "swift-system")]),
        .target(
            name: "VMClockDaemon",
            dependencies: [
                "VMClockPage", "VMClockAccess", "ChronyClients", "CVMClockCounter",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(
            name: "VMClockService",
            dependencies: [
                "CSystemd", "VMClockDaemon",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "VMClockSimulation",
            dependencies: [
                "VMClockPage", "VMClockAccess", "CVMClockCounter",
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .executableTarget(
            name: "vmclockd",
            dependencies: [
                "VMClockPage", "VMClockAccess", "VMClockDaemon", "VMClockService",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Counts the heap allocations of a process it is preloaded into: the
        // daemon benchmark's "allocations per look". Never shipped.
        .target(name: "CAllocationCount", path: "Sources/Benchmarks/CAllocationCount"),
        .executableTarget(
            name: "vmclock-sim",
            dependencies: [
                "VMClockSimulation", "VMClockPage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        // The process harness of IntegrationTests and vmclockd-daemon-bench: vmclockd, vmclock-sim
        // and a private chronyd as child processes, stopped by pid. Never shipped.
        .target(name: "PeerHarness", path: "Sources/Harness/PeerHarness"),
        // Fails open/pread/mmap of one path on command, preloaded into the daemon by
        // IntegrationTests' TransientFaults (LD_PRELOAD, from the product beside the tests); no
        // target depends on it, as it replaces libc's open(). Never shipped.
        .target(
            name: "CFaultInjection", path: "Sources/Harness/CFaultInjection", linkerSettings: [.linkedLibrary("dl")]),
        // The exact (BigInt) reference model of the page's math, shared by VMClockPageTests and
        // vmclock-fuzz-page; independent of VMClockPage by construction. Never shipped.
        .target(
            name: "PageReference", dependencies: [.product(name: "BigInt", package: "BigInt")],
            path: "Sources/Harness/PageReference"),
        // Run with `swift package --scratch-path .build-release benchmark` (BENCHMARKS.md);
        // an executable, never a test. The plugin wants it under a folder named Benchmarks.
        .executableTarget(
            name: "vmclock-bench",
            dependencies: [
                "VMClockPage", "VMClockAccess", "VMClockSimulation",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Sources/Benchmarks/vmclock-bench",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        // The daemon's figures (BENCHMARKS.md, "Daemon"): drives the release-built vmclockd and
        // vmclock-sim and a private chronyd as separate processes. Plain Swift, not the plugin's;
        // an executable, never a test. Run with `swift run -c release --scratch-path .build-release
        // vmclockd-daemon-bench` after building those two products.
        .executableTarget(
            name: "vmclockd-daemon-bench",
            dependencies: [
                "ChronyClients", "PeerHarness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Benchmarks/vmclockd-daemon-bench"),
        // Fuzz targets (libFuzzer), built and run by `.ci/fuzz` with `--sanitize fuzzer --sanitize
        // address -Xswiftc -DVMCLOCK_FUZZING` (BENCHMARKS.md, "Fuzzing"). In a normal build each is an
        // executable that replays the inputs (files or directories) given to it. Never shipped.
        .target(name: "CLibFuzzerDriver", path: "Sources/Fuzz/CLibFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzerDriver"], path: "Sources/Fuzz/FuzzSupport"),
        .executableTarget(
            name: "vmclock-fuzz-page",
            dependencies: ["FuzzSupport", "VMClockPage", "PageReference", .product(name: "BigInt", package: "BigInt")],
            path: "Sources/Fuzz/vmclock-fuzz-page"),
        .executableTarget(
            name: "vmclock-fuzz-control-reply",
            dependencies: ["FuzzSupport", "ChronyClients"],
            path: "Sources/Fuzz/vmclock-fuzz-control-reply"),
        .executableTarget(
            name: "vmclock-fuzz-sim-command",
            dependencies: ["FuzzSupport", "VMClockSimulation", "VMClockPage", "VMClockAccess"],
            path: "Sources/Fuzz/vmclock-fuzz-sim-command"),
        .executableTarget(
            name: "vmclock-fuzz-status-file",
            dependencies: ["FuzzSupport", "VMClockDaemon"],
            path: "Sources/Fuzz/vmclock-fuzz-status-file"),
        .testTarget(
            name: "VMClockPageTests",
            dependencies: [
                "VMClockPage", "PageReference",
                .product(name: "BigInt", package: "BigInt"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(
            name: "VMClockDaemonTests",
            dependencies: [
                "VMClockDaemon", "VMClockPage", "VMClockAccess", "VMClockSimulation", "ChronyClients", "VMClockService",
                "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // What the test targets share (the rig, waiting, reading what the daemon publishes, the
        // serialized LiveDevice suite, chronyd's reply bytes). Never shipped.
        .target(name: "TestSupport", dependencies: ["PeerHarness", "ChronyClients"], path: "Tests/Support"),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "VMClockPage", "VMClockAccess", "VMClockSimulation", "ChronyClients", "vmclockd", "vmclock-sim", "PeerHarness",
                "TestSupport",
            ]),
        // chronyd's two protocols (SOCK refclock, cmdmon), byte for byte and against a real chronyd.
        .testTarget(
            name: "ChronyClientsTests",
            dependencies: [
                "ChronyClients", "VMClockDaemon", "vmclockd", "vmclock-sim", "PeerHarness", "TestSupport",
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
    ]
)
