// swift-tools-version: 6.2
import PackageDescription

/// Our own targets treat warnings as errors; dependencies are left alone.
let strict: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "updraft",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "updraft", targets: ["updraft"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.0"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .target(
            name: "UpdraftCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: strict
        ),
        .target(
            name: "UpdraftDatabase",
            dependencies: [
                "UpdraftCore",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "UpdraftIdentity",
            dependencies: [
                "UpdraftCore",
                "UpdraftDatabase",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "HostProcess",
            exclude: ["README.md"],
            swiftSettings: strict
        ),
        .target(
            name: "LinuxNet",
            dependencies: ["HostProcess"],
            exclude: ["README.md"],
            swiftSettings: strict
        ),
        .target(
            name: "UpdraftNetwork",
            dependencies: [
                "UpdraftCore",
                "UpdraftDatabase",
                "LinuxNet",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "QEMU",
            dependencies: [
                "HostProcess",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"],
            swiftSettings: strict
        ),
        .target(
            name: "GuestImage",
            dependencies: [
                "HostProcess",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"],
            swiftSettings: strict
        ),
        .target(
            name: "UpdraftImage",
            dependencies: [
                "UpdraftCore",
                "UpdraftDatabase",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"],
            swiftSettings: strict
        ),
        .target(
            name: "UpdraftObjectStorage",
            dependencies: [
                "UpdraftCore",
                "UpdraftDatabase",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"],
            swiftSettings: strict
        ),
        .target(
            name: "UpdraftBlockStorage",
            dependencies: [
                "UpdraftCore",
                "UpdraftDatabase",
                "QEMU",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "UpdraftAccounting",
            dependencies: [
                "UpdraftCore",
                "UpdraftDatabase",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "UpdraftCompute",
            dependencies: [
                "UpdraftCore",
                "UpdraftAccounting",
                "UpdraftDatabase",
                "QEMU",
                "LinuxNet",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "UpdraftServer",
            dependencies: [
                "UpdraftCore",
                "UpdraftDatabase",
                "UpdraftIdentity",
                "UpdraftImage",
                "UpdraftCompute",
                "UpdraftAccounting",
                "UpdraftNetwork",
                "UpdraftObjectStorage",
                "UpdraftBlockStorage",
                "QEMU",
                "GuestImage",
                "HostProcess",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "updraft",
            dependencies: [
                "UpdraftServer",
                "GuestImage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "UpdraftTests",
            dependencies: [
                "UpdraftCore", "UpdraftDatabase", "UpdraftIdentity", "UpdraftImage", "UpdraftCompute", "UpdraftNetwork",
                "UpdraftObjectStorage", "UpdraftBlockStorage", "UpdraftServer", "LinuxNet", "QEMU", "GuestImage",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AccountingTests",
            dependencies: [
                "UpdraftAccounting",
                "UpdraftCore",
                "UpdraftDatabase",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "QEMUTests",
            dependencies: [
                "QEMU",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LinuxNetTests",
            dependencies: ["LinuxNet"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HostProcessTests",
            dependencies: ["HostProcess"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "GuestImageTests",
            dependencies: ["GuestImage"],
            swiftSettings: strict
        ),
    ]
)
