// swift-tools-version: 6.1
import PackageDescription

// Layers, each depending only on the ones above it (README, "Layout"):
//   ErrorNumbers     pure: an errno value (number and text) without the C library
//   VMClockPage      pure: page layout, validation, exact time and error math, DeviceError
//   ChronyProtocol   pure: chronyd's messages (SOCK sample, cmdmon requests and replies), no sockets
//   ClockBoundProtocol  pure: ClockBound's shared-memory segment (layout, seqlock arithmetic, client math)
//   DaemonCore       pure: the daemon's decisions (state machine, samples, chronyd's requests,
//                    what applications are told)
//   CVMClockCounter  tiny C: CPU counter reads and memory barriers
//   VMClockSystem    OS helpers and codecs shared by CLI, daemon and fuzzers (JSON, atomic
//                    files, process identity), Foundation-free
//   VMClockAccess    the device: mmap/pread, seqlock snapshots, cross-timestamps; the
//                    ClockBound segment's reader (as its clients read it)
//   ChronyClients    chronyd's sockets: SOCK refclock, command channel
//   DaemonPublication  what the daemon publishes: status.json, metrics, ClockBound's segment file
//   DaemonLoop       the I/O loop that feeds DaemonCore and carries out its decisions
//   CSystemd, VMClockService  systemd: readiness, watchdog, status, journal
//   VMClockSimulation  the page writer behind vmclock-sim
//   vmclockd, vmclock-sim  command-line front ends
// The pure layers do no I/O, and the compiler holds them to it: their dependencies are
// each other only. Check that none reaches for the C library either:
//   grep -ln 'import \(Glibc\|SystemPackage\|Logging\|Foundation\)' Sources/{ErrorNumbers,VMClockPage,ChronyProtocol,ClockBoundProtocol,DaemonCore}/*.swift
// prints nothing.
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
    ],
    targets: [
        .target(name: "ErrorNumbers"),
        .target(name: "VMClockPage", dependencies: ["ErrorNumbers"]),
        .target(name: "ChronyProtocol", dependencies: ["ErrorNumbers"]),
        .target(name: "ClockBoundProtocol"),
        .target(name: "DaemonCore", dependencies: ["VMClockPage", "ChronyProtocol", "ClockBoundProtocol", "ErrorNumbers"]),
        .target(name: "CVMClockCounter"),
        .target(name: "VMClockSystem", dependencies: ["ErrorNumbers", .product(name: "SystemPackage", package: "swift-system")]),
        .target(
            name: "VMClockAccess",
            dependencies: [
                "VMClockPage", "ClockBoundProtocol", "CVMClockCounter", "VMClockSystem",
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .target(
            name: "ChronyClients",
            dependencies: ["ChronyProtocol", "ErrorNumbers", "VMClockSystem", .product(name: "SystemPackage", package: "swift-system")]),
        .target(
            name: "DaemonPublication",
            dependencies: [
                "DaemonCore", "ChronyProtocol", "ClockBoundProtocol", "VMClockAccess", "VMClockSystem", "CVMClockCounter",
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .target(
            name: "DaemonLoop",
            dependencies: [
                "DaemonCore", "DaemonPublication", "VMClockPage", "VMClockAccess", "VMClockSystem", "ChronyProtocol",
                "ChronyClients", "CVMClockCounter", "ErrorNumbers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(
            name: "VMClockService",
            dependencies: [
                "CSystemd", "DaemonCore", "DaemonLoop", "VMClockAccess",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
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
                "VMClockPage", "VMClockAccess", "VMClockSystem", "ClockBoundProtocol", "DaemonCore", "DaemonPublication",
                "DaemonLoop", "VMClockService",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        // Counts the heap allocations of a process it is preloaded into: the
        // daemon benchmark's "allocations per look". Never shipped.
        // -fPIC: it is also a shared library, and without it Debian's arm64 clang
        // turns its initial-exec thread-local counter into local-exec, which
        // cannot be linked into one.
        .target(
            name: "CAllocationCount", path: "Sources/Benchmarks/CAllocationCount",
            cSettings: [.unsafeFlags(["-fPIC"])]),
        .executableTarget(
            name: "vmclock-sim",
            dependencies: [
                "VMClockSimulation", "VMClockPage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        // The process harness of IntegrationTests and vmclockd-daemon-bench: vmclockd, vmclock-sim
        // and a private chronyd as child processes, stopped by pid. Never shipped.
        // Also the blocking chronyd client (ControlClient) tests and benchmarks ask chronyd with.
        .target(name: "PeerHarness", dependencies: ["ChronyClients", "ChronyProtocol", "VMClockSystem"], path: "Sources/Harness/PeerHarness"),
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
        // The daemon's figures (BENCHMARKS.md, "Daemon"): drives the release-built vmclockd and
        // vmclock-sim and a private chronyd as separate processes. Plain Swift, not the plugin's;
        // an executable, never a test. Run with `swift run -c release --scratch-path .build-release
        // vmclockd-daemon-bench` after building those two products.
        .executableTarget(
            name: "vmclockd-daemon-bench",
            dependencies: [
                "ChronyClients", "ChronyProtocol", "PeerHarness",
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
            dependencies: ["FuzzSupport", "ChronyClients", "ChronyProtocol"],
            path: "Sources/Fuzz/vmclock-fuzz-control-reply"),
        .executableTarget(
            name: "vmclock-fuzz-sim-command",
            dependencies: ["FuzzSupport", "VMClockSimulation", "VMClockPage", "VMClockAccess"],
            path: "Sources/Fuzz/vmclock-fuzz-sim-command"),
        .executableTarget(
            name: "vmclock-fuzz-status-file",
            dependencies: ["FuzzSupport", "DaemonPublication", "VMClockSystem"],
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
                "DaemonCore", "DaemonLoop", "DaemonPublication", "VMClockSystem", "ErrorNumbers", "VMClockPage",
                "VMClockAccess", "VMClockSimulation", "ChronyProtocol", "ChronyClients", "VMClockService",
                "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        // What the test targets share (the rig, waiting, reading what the daemon publishes, the
        // serialized LiveDevice suite, chronyd's reply bytes). Never shipped.
        .target(name: "TestSupport", dependencies: ["PeerHarness", "ChronyProtocol"], path: "Tests/Support"),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "VMClockPage", "VMClockAccess", "VMClockSimulation", "VMClockSystem", "ErrorNumbers", "ChronyProtocol",
                "ChronyClients", "vmclockd", "vmclock-sim", "PeerHarness",
                "TestSupport",
            ]),
        // ClockBound's segment: its layout byte for byte against PROTOCOL.md, the file vmclockd
        // writes (faults made for real: foreign files, a read-only mount, deletion, a second
        // writer), the client math and the coarse clock. Linked with CAllocationCount, whose
        // malloc then counts this thread's allocations (the whole test process's malloc goes
        // through it, at the cost of a counter increment).
        .testTarget(
            name: "ClockBoundTests",
            dependencies: [
                "ClockBoundProtocol", "DaemonPublication", "VMClockAccess", "VMClockSystem", "CAllocationCount",
                "PeerHarness",
            ]),
        // chronyd's two protocols (SOCK refclock, cmdmon), byte for byte and against a real chronyd.
        .testTarget(
            name: "ChronyClientsTests",
            dependencies: [
                "ChronyProtocol", "ChronyClients", "ErrorNumbers", "VMClockSystem", "DaemonCore", "vmclockd", "vmclock-sim",
                "PeerHarness", "TestSupport",
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
    ]
)

// The plugin benchmarks (Sources/Benchmarks/vmclock-bench; BENCHMARKS.md) need
// ordo-one/benchmark's Swift 6.3 manifest: its manifest for Swift 6.2 holds
// swift-argument-parser below 1.6, which this package cannot share. So Debian's
// Swift 6.2.3, the arm64 cross compiler (packaging/arm64), builds all but them.
#if compiler(>=6.3)
package.dependencies.append(
    .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]))
package.targets.append(
    // Run with `swift package --scratch-path .build-release benchmark` (BENCHMARKS.md);
    // an executable, never a test. The plugin wants it under a folder named Benchmarks.
    .executableTarget(
        name: "vmclock-bench",
        dependencies: [
            "VMClockPage", "VMClockAccess", "VMClockSimulation",
            .product(name: "Benchmark", package: "benchmark"),
        ],
        path: "Sources/Benchmarks/vmclock-bench",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]))
#endif
