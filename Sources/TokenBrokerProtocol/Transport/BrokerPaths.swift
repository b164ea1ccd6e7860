#if canImport(Glibc)
import Glibc
#endif

/// Where the socket, the database and the config file live, resolved the same way by
/// the daemon and the CLI.
///
/// Pure functions of a flag value, the environment, the uid and the home directory;
/// nothing here touches the filesystem. First match wins; an empty value (flag or
/// environment variable) counts as unset, and, per the XDG Base Directory
/// specification, an `XDG_*` variable holding a relative path is ignored.
public enum BrokerPaths {
    /// The socket: `--socket`, `$TOKENBROKER_SOCKET`, `$XDG_RUNTIME_DIR/tokenbroker/socket`,
    /// else `/tmp/tokenbroker-$UID/socket` (callers first fill in `XDG_RUNTIME_DIR` with
    /// ``fillingRuntimeDirectory(_:with:)``).
    ///
    /// - Parameters:
    ///   - flag: The `--socket` value, `nil` when not given.
    ///   - environment: The process environment.
    ///   - userID: The real uid, for the `/tmp` fallback.
    /// - Returns: The path and where it came from.
    public static func socket(flag: String?, environment: [String: String], userID: UInt32) -> ResolvedPath {
        resolve(
            flag: flag,
            environment: environment,
            overrideVariable: socketVariables[0],
            baseVariable: socketVariables[1],
            relativePath: "tokenbroker/socket",
            fallback: fallbackSocketDirectory(userID: userID) + "/socket"
        )
    }

    /// The directory of the last-resort socket path, in the shared `/tmp`: the daemon
    /// accepts it only when it is the user's own with mode 0700.
    ///
    /// - Parameter userID: The real uid.
    /// - Returns: `/tmp/tokenbroker-$UID`.
    public static func fallbackSocketDirectory(userID: UInt32) -> String {
        "/tmp/tokenbroker-\(userID)"
    }

    /// The environment variables ``socket(flag:environment:userID:)`` reads, so a client can
    /// pass just those instead of its whole environment.
    public static let socketVariables = ["TOKENBROKER_SOCKET", "XDG_RUNTIME_DIR"]

    /// `environment` with `XDG_RUNTIME_DIR` set to the login session's runtime directory
    /// when it is unset and `runtimeDirectory` (what ``loginRuntimeDirectory(userID:)``
    /// found) is known.
    ///
    /// MCP hosts start servers with part of their environment (Claude Desktop passes a few
    /// variables, Codex CLI a fixed list without `XDG_RUNTIME_DIR`); the daemon a user
    /// service runs listens under `XDG_RUNTIME_DIR`, which systemd-logind makes
    /// `/run/user/$UID`. Without this a bridge such a host starts looks in `/tmp` and finds
    /// no daemon. Daemon and clients apply it alike, so they still agree.
    public static func fillingRuntimeDirectory(_ environment: [String: String], with runtimeDirectory: String?) -> [String: String] {
        guard environment["XDG_RUNTIME_DIR"]?.hasPrefix("/") != true, let runtimeDirectory else { return environment }
        var filled = environment
        filled["XDG_RUNTIME_DIR"] = runtimeDirectory
        return filled
    }

    /// `/run/user/UID` when it is a directory of that user (systemd-logind's runtime
    /// directory), else `nil`. One `stat`; the resolution above reads no filesystem.
    /// (Not FileManager: its first use costs `tokenbroker token` a quarter of its time.)
    public static func loginRuntimeDirectory(userID: UInt32) -> String? {
        let path = "/run/user/\(userID)"
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == userID else { return nil }
        return path
    }

    /// The database: `--database`, `$TOKENBROKER_DATABASE`,
    /// `$XDG_STATE_HOME/tokenbroker/broker.sqlite3`, else
    /// `~/.local/state/tokenbroker/broker.sqlite3`.
    ///
    /// - Parameters:
    ///   - flag: The `--database` value, `nil` when not given.
    ///   - environment: The process environment.
    ///   - homeDirectory: The user's home directory, an absolute path.
    /// - Returns: The path and where it came from.
    public static func database(flag: String?, environment: [String: String], homeDirectory: String) -> ResolvedPath {
        resolve(
            flag: flag,
            environment: environment,
            overrideVariable: "TOKENBROKER_DATABASE",
            baseVariable: "XDG_STATE_HOME",
            relativePath: "tokenbroker/broker.sqlite3",
            fallback: join(homeDirectory, ".local/state/tokenbroker/broker.sqlite3")
        )
    }

    /// The optional config file: `--config`, `$TOKENBROKER_CONFIG`,
    /// `$XDG_CONFIG_HOME/tokenbroker/config.toml`, else `~/.config/tokenbroker/config.toml`.
    ///
    /// - Parameters:
    ///   - flag: The `--config` value, `nil` when not given.
    ///   - environment: The process environment.
    ///   - homeDirectory: The user's home directory, an absolute path.
    /// - Returns: The path and where it came from.
    public static func config(flag: String?, environment: [String: String], homeDirectory: String) -> ResolvedPath {
        resolve(
            flag: flag,
            environment: environment,
            overrideVariable: "TOKENBROKER_CONFIG",
            baseVariable: "XDG_CONFIG_HOME",
            relativePath: "tokenbroker/config.toml",
            fallback: join(homeDirectory, ".config/tokenbroker/config.toml")
        )
    }

    /// The key that seals the database's secrets (daemon only): `--key-file`, the config
    /// file's `key_file`, a systemd credential (`$CREDENTIALS_DIRECTORY/tokenbroker.key`),
    /// `$XDG_CONFIG_HOME/tokenbroker/key`, else `~/.config/tokenbroker/key`.
    ///
    /// Beside the config, not the database: state and config are backed up and synced
    /// differently, so a copy of the database alone opens nothing.
    ///
    /// - Parameters:
    ///   - flag: The `--key-file` value, `nil` when not given.
    ///   - configured: The config file's `key_file`, `nil` when not set.
    ///   - environment: The process environment.
    ///   - homeDirectory: The user's home directory, an absolute path.
    /// - Returns: The path and where it came from.
    public static func key(flag: String?, configured: String?, environment: [String: String], homeDirectory: String) -> ResolvedPath {
        if let flag, !flag.isEmpty { return ResolvedPath(path: flag, source: .flag) }
        if let configured, !configured.isEmpty { return ResolvedPath(path: configured, source: .configFile) }
        if let credentials = environment["CREDENTIALS_DIRECTORY"], credentials.hasPrefix("/") {
            return ResolvedPath(path: join(credentials, "tokenbroker.key"), source: .environment("CREDENTIALS_DIRECTORY"))
        }
        if let base = environment["XDG_CONFIG_HOME"], base.hasPrefix("/") {
            return ResolvedPath(path: join(base, "tokenbroker/key"), source: .environment("XDG_CONFIG_HOME"))
        }
        return ResolvedPath(path: join(homeDirectory, ".config/tokenbroker/key"), source: .fallback)
    }

    private static func resolve(
        flag: String?,
        environment: [String: String],
        overrideVariable: String,
        baseVariable: String,
        relativePath: String,
        fallback: String
    ) -> ResolvedPath {
        if let flag, !flag.isEmpty {
            return ResolvedPath(path: flag, source: .flag)
        }
        if let value = environment[overrideVariable], !value.isEmpty {
            return ResolvedPath(path: value, source: .environment(overrideVariable))
        }
        if let base = environment[baseVariable], base.hasPrefix("/") {
            return ResolvedPath(path: join(base, relativePath), source: .environment(baseVariable))
        }
        return ResolvedPath(path: fallback, source: .fallback)
    }

    /// Joins without doubling a slash: `/run/user/1000/` + `tokenbroker/socket`.
    private static func join(_ base: String, _ relativePath: String) -> String {
        var base = Substring(base)
        while base.count > 1, base.hasSuffix("/") { base.removeLast() }
        return base == "/" ? "/" + relativePath : base + "/" + relativePath
    }
}

/// A resolved path and the rule that produced it, so messages can say why a path was used.
public struct ResolvedPath: Sendable, Hashable, CustomStringConvertible {
    /// Which rule of the resolution order matched.
    public enum Source: Sendable, Hashable {
        /// The command-line flag.
        case flag
        /// An environment variable, named.
        case environment(String)
        /// The built-in default.
        case fallback
        /// A setting of the config file.
        case configFile
    }

    /// The path.
    public var path: String
    /// Where it came from.
    public var source: Source

    /// Creates a resolved path.
    ///
    /// - Parameters:
    ///   - path: The path.
    ///   - source: Where it came from.
    public init(path: String, source: Source) {
        self.path = path
        self.source = source
    }

    /// The path.
    public var description: String { path }
}
