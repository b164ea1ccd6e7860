// swift-tools-version:6.2
import PackageDescription

/// Hummingbird's settings: a small public surface and explicit existentials.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

// Linux only: the daemon and the client use prctl(2), pipe2(2), SO_PEERCRED and /proc.
let package = Package(
    name: "TokenBroker",
    products: [
        .executable(name: "tokenbrokerd", targets: ["tokenbrokerd"]),
        .executable(name: "tokenbroker", targets: ["tokenbroker"]),
        .executable(name: "tokenbroker-proxy", targets: ["tokenbroker-proxy"]),
        .library(name: "TokenBrokerClient", targets: ["TokenBrokerClient"]),
        .library(name: "TokenBrokerProtocol", targets: ["TokenBrokerProtocol"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // Pure OAuth and scope logic: no sockets, no HTTP, no SQLite, no files, no wall clock.
        .target(
            name: "TokenBrokerCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                // RS256 client assertions (private_key_jwt).
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // The wire vocabulary shared by the daemon, the client library and the CLI.
        .target(
            name: "TokenBrokerProtocol",
            swiftSettings: strictSettings
        ),
        // What MCP clients link to talk to the daemon: the protocol plus a plain socket.
        .target(
            name: "TokenBrokerClient",
            dependencies: ["TokenBrokerProtocol"],
            swiftSettings: strictSettings
        ),
        // The companion CLI; kept to the client library so `tokenbroker token` starts fast.
        .executableTarget(
            name: "tokenbroker",
            dependencies: [
                "TokenBrokerClient",
                "TokenBrokerProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // The stdio ↔ MCP-over-HTTP bridge (`tokenbroker proxy`): host messages relayed to a
        // remote MCP server with the daemon's tokens. Its own target, so the HTTP stack stays
        // out of the `tokenbroker` executable that `tokenbroker token` starts.
        .target(
            name: "TokenBrokerBridge",
            dependencies: [
                "TokenBrokerClient",
                "TokenBrokerProtocol",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // `tokenbroker proxy` runs this executable, found next to `tokenbroker`.
        .executableTarget(
            name: "tokenbroker-proxy",
            dependencies: [
                "TokenBrokerBridge",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // Durable state on SQLite; the only target that touches the database file.
        .target(
            name: "TokenBrokerStorage",
            dependencies: [
                "TokenBrokerCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // prctl(2) is variadic and struct ucred needs _GNU_SOURCE: a few lines of C.
        .target(name: "CTokenBrokerSystem"),
        // Child processes without Foundation's Process (see ChildProcess); not a product.
        .target(
            name: "TokenBrokerSystem",
            dependencies: ["CTokenBrokerSystem"],
            swiftSettings: strictSettings
        ),
        // The TOML config file, read and checked: apart, so the fuzzer links it without the daemon.
        .target(
            name: "TokenBrokerConfig",
            dependencies: ["TokenBrokerCore"],
            swiftSettings: strictSettings
        ),
        // The daemon as a library, so tests can run it in-process: sockets, HTTP, sign-in.
        .target(
            name: "TokenBrokerServer",
            dependencies: [
                "CTokenBrokerSystem",
                "TokenBrokerCore",
                "TokenBrokerProtocol",
                "TokenBrokerStorage",
                "TokenBrokerSystem",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "tokenbrokerd",
            dependencies: [
                "TokenBrokerConfig",
                "TokenBrokerServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Test helper, not a product: dies mid-transaction for TokenBrokerStorageTests' crash test.
        .executableTarget(
            name: "TokenBrokerStorageCrashWriter",
            dependencies: ["TokenBrokerCore", "TokenBrokerStorage"],
            swiftSettings: strictSettings
        ),
        // libFuzzer's driver, declared for the fuzzing build (Fuzz/, scripts/fuzz.sh).
        .target(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        // The fuzz targets; built normally, it replays a corpus (a regression check).
        .executableTarget(
            name: "tokenbroker-fuzz",
            dependencies: ["CLibFuzzer", "TokenBrokerConfig", "TokenBrokerCore", "TokenBrokerProtocol"],
            path: "Fuzz/tokenbroker-fuzz",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TokenBrokerCoreTests",
            dependencies: [
                "TokenBrokerCore",
                // To make keys and check the signatures of client assertions.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TokenBrokerProtocolTests",
            dependencies: ["TokenBrokerProtocol"],
            swiftSettings: strictSettings
        ),
        // What several test targets share: temporary directories, teardown that is awaited,
        // work off the cooperative pool, and event logs to wait on. Not a product.
        .target(
            name: "TokenBrokerTestKit",
            path: "Tests/TokenBrokerTestKit",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TokenBrokerServerTests",
            dependencies: [
                "TokenBrokerConfig",
                "TokenBrokerServer",
                "TokenBrokerTestKit",
                "TokenBrokerClient",
                "TokenBrokerSystem",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TokenBrokerCLITests",
            dependencies: [
                "tokenbroker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TokenBrokerBridgeTests",
            dependencies: ["TokenBrokerBridge", "TokenBrokerProtocol"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TokenBrokerSystemTests",
            dependencies: ["TokenBrokerSystem"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TokenBrokerStorageTests",
            dependencies: ["TokenBrokerStorage", "TokenBrokerCore", "TokenBrokerSystem", "TokenBrokerTestKit"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
