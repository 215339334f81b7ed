// swift-tools-version: 6.1
import PackageDescription

// Layers, each depending only on the ones above it:
//   VMClockPage      pure: page layout, validation, exact time and error math
//   CVMClockCounter  tiny C: CPU counter reads and memory barriers
//   VMClockAccess    the device: mmap/pread, seqlock snapshots, cross-timestamps
//   VMClockSimulation  the page writer behind vmclock-sim
//   vmclockd, vmclock-sim  command-line front ends
let package = Package(
    name: "vmclockd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vmclockd", targets: ["vmclockd"]),
        .executable(name: "vmclock-sim", targets: ["vmclock-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
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
            name: "VMClockSimulation",
            dependencies: [
                "VMClockPage", "VMClockAccess", "CVMClockCounter",
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .executableTarget(
            name: "vmclockd",
            dependencies: [
                "VMClockPage", "VMClockAccess",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "vmclock-sim",
            dependencies: [
                "VMClockSimulation", "VMClockPage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .testTarget(
            name: "VMClockPageTests",
            dependencies: [
                "VMClockPage",
                .product(name: "BigInt", package: "BigInt"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(
            name: "VMClockAccessTests",
            dependencies: ["VMClockPage", "VMClockAccess", "VMClockSimulation", "vmclockd", "vmclock-sim"]),
    ]
)
