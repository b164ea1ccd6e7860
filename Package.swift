// swift-tools-version:6.2
import PackageDescription

/// Hummingbird's settings: a small public surface and explicit existentials.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "TokenBroker",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tokenbrokerd", targets: ["tokenbrokerd"]),
        .library(name: "TokenBrokerProtocol", targets: ["TokenBrokerProtocol"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        // Pure OAuth and scope logic: no sockets, no HTTP, no SQLite, no files, no wall clock.
        .target(
            name: "TokenBrokerCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // The wire vocabulary shared by the daemon, the client library and the CLI.
        .target(
            name: "TokenBrokerProtocol",
            swiftSettings: strictSettings
        ),
        // Durable state on SQLite; the only target that touches the database file.
        .target(
            name: "TokenBrokerStorage",
            dependencies: [
                "TokenBrokerCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "tokenbrokerd",
            dependencies: ["TokenBrokerCore", "TokenBrokerProtocol", "TokenBrokerStorage"],
            swiftSettings: strictSettings
        ),
        // Test helper, not a product: dies mid-transaction for TokenBrokerStorageTests' crash test.
        .executableTarget(
            name: "TokenBrokerStorageCrashWriter",
            dependencies: ["TokenBrokerCore", "TokenBrokerStorage"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TokenBrokerCoreTests",
            dependencies: ["TokenBrokerCore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TokenBrokerProtocolTests",
            dependencies: ["TokenBrokerProtocol"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TokenBrokerStorageTests",
            dependencies: ["TokenBrokerStorage", "TokenBrokerCore"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
