import Testing
import TokenBrokerProtocol

@Suite("Path resolution")
struct BrokerPathsTests {
    typealias Case = (flag: String?, environment: [String: String], path: String, source: ResolvedPath.Source)

    static let home = "/home/alice"

    /// A host that passed no XDG_RUNTIME_DIR: the login session's runtime directory stands
    /// in, and only then.
    @Test func theLoginRuntimeDirectoryStandsInForAMissingVariable() {
        let filled = BrokerPaths.fillingRuntimeDirectory([:], with: "/run/user/1000")
        #expect(BrokerPaths.socket(flag: nil, environment: filled, userID: 1000).path == "/run/user/1000/tokenbroker/socket")
        #expect(BrokerPaths.fillingRuntimeDirectory(["XDG_RUNTIME_DIR": "relative"], with: "/run/user/1000")["XDG_RUNTIME_DIR"]
            == "/run/user/1000")
        #expect(BrokerPaths.fillingRuntimeDirectory(["XDG_RUNTIME_DIR": "/run/other"], with: "/run/user/1000")["XDG_RUNTIME_DIR"]
            == "/run/other")
        #expect(BrokerPaths.fillingRuntimeDirectory([:], with: nil).isEmpty)
        #expect(BrokerPaths.loginRuntimeDirectory(userID: 4_000_000_000) == nil)
    }

    @Test(
        "socket",
        arguments: [
            (nil, [:], "/tmp/tokenbroker-1000/socket", .fallback),
            (nil, ["XDG_RUNTIME_DIR": "/run/user/1000"], "/run/user/1000/tokenbroker/socket", .environment("XDG_RUNTIME_DIR")),
            (nil, ["XDG_RUNTIME_DIR": "/run/user/1000/"], "/run/user/1000/tokenbroker/socket", .environment("XDG_RUNTIME_DIR")),
            (nil, ["XDG_RUNTIME_DIR": "run/user/1000"], "/tmp/tokenbroker-1000/socket", .fallback),
            (nil, ["XDG_RUNTIME_DIR": ""], "/tmp/tokenbroker-1000/socket", .fallback),
            (nil, ["TOKENBROKER_SOCKET": "/srv/tb.sock", "XDG_RUNTIME_DIR": "/run/user/1000"], "/srv/tb.sock", .environment("TOKENBROKER_SOCKET")),
            (nil, ["TOKENBROKER_SOCKET": "", "XDG_RUNTIME_DIR": "/run/user/1000"], "/run/user/1000/tokenbroker/socket", .environment("XDG_RUNTIME_DIR")),
            ("/flag.sock", ["TOKENBROKER_SOCKET": "/srv/tb.sock", "XDG_RUNTIME_DIR": "/run/user/1000"], "/flag.sock", .flag),
            ("", ["TOKENBROKER_SOCKET": "/srv/tb.sock"], "/srv/tb.sock", .environment("TOKENBROKER_SOCKET")),
            ("relative.sock", [:], "relative.sock", .flag),
        ] as [Case]
    )
    func socket(testCase: Case) {
        let resolved = BrokerPaths.socket(flag: testCase.flag, environment: testCase.environment, userID: 1000)
        #expect(resolved == ResolvedPath(path: testCase.path, source: testCase.source))
    }

    @Test("the /tmp fallback carries the uid")
    func socketUID() {
        #expect(BrokerPaths.socket(flag: nil, environment: [:], userID: 0).path == "/tmp/tokenbroker-0/socket")
        #expect(BrokerPaths.socket(flag: nil, environment: [:], userID: 4_294_967_294).path == "/tmp/tokenbroker-4294967294/socket")
    }

    @Test(
        "database",
        arguments: [
            (nil, [:], "/home/alice/.local/state/tokenbroker/broker.sqlite3", .fallback),
            (nil, ["XDG_STATE_HOME": "/var/state"], "/var/state/tokenbroker/broker.sqlite3", .environment("XDG_STATE_HOME")),
            (nil, ["XDG_STATE_HOME": "state"], "/home/alice/.local/state/tokenbroker/broker.sqlite3", .fallback),
            (nil, ["XDG_STATE_HOME": ""], "/home/alice/.local/state/tokenbroker/broker.sqlite3", .fallback),
            (nil, ["TOKENBROKER_DATABASE": "/db.sqlite3", "XDG_STATE_HOME": "/var/state"], "/db.sqlite3", .environment("TOKENBROKER_DATABASE")),
            ("/flag.sqlite3", ["TOKENBROKER_DATABASE": "/db.sqlite3"], "/flag.sqlite3", .flag),
            // Other tools' variables do not leak in.
            (nil, ["XDG_RUNTIME_DIR": "/run/user/1000", "XDG_CONFIG_HOME": "/cfg"], "/home/alice/.local/state/tokenbroker/broker.sqlite3", .fallback),
        ] as [Case]
    )
    func database(testCase: Case) {
        let resolved = BrokerPaths.database(flag: testCase.flag, environment: testCase.environment, homeDirectory: Self.home)
        #expect(resolved == ResolvedPath(path: testCase.path, source: testCase.source))
    }

    @Test(
        "config",
        arguments: [
            (nil, [:], "/home/alice/.config/tokenbroker/config.toml", .fallback),
            (nil, ["XDG_CONFIG_HOME": "/etc/alice"], "/etc/alice/tokenbroker/config.toml", .environment("XDG_CONFIG_HOME")),
            (nil, ["XDG_CONFIG_HOME": "./cfg"], "/home/alice/.config/tokenbroker/config.toml", .fallback),
            (nil, ["TOKENBROKER_CONFIG": "/c.toml", "XDG_CONFIG_HOME": "/etc/alice"], "/c.toml", .environment("TOKENBROKER_CONFIG")),
            (nil, ["TOKENBROKER_CONFIG": ""], "/home/alice/.config/tokenbroker/config.toml", .fallback),
            ("/flag.toml", ["TOKENBROKER_CONFIG": "/c.toml"], "/flag.toml", .flag),
        ] as [Case]
    )
    func config(testCase: Case) {
        let resolved = BrokerPaths.config(flag: testCase.flag, environment: testCase.environment, homeDirectory: Self.home)
        #expect(resolved == ResolvedPath(path: testCase.path, source: testCase.source))
    }

    @Test("a home directory with a trailing slash or at the root joins cleanly")
    func homeJoin() {
        #expect(BrokerPaths.config(flag: nil, environment: [:], homeDirectory: "/home/alice/").path == "/home/alice/.config/tokenbroker/config.toml")
        #expect(BrokerPaths.database(flag: nil, environment: [:], homeDirectory: "/").path == "/.local/state/tokenbroker/broker.sqlite3")
    }
}
