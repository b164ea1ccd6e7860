internal import Foundation
internal import Logging
internal import TokenBrokerSystem

/// Shows a sign-in URL to the person: runs `--browser-command` or an injected action.
package struct BrowserLauncher: Sendable {
    let open: @Sendable (String) async -> Bool
    /// Whether a browser can be shown at all; without one, a server that offers the
    /// device flow gets device sign-ins (``SignInMethod/choose(requested:browserAvailable:deviceFlowOffered:)``).
    var isAvailable = true

    /// Runs `command` (program and leading arguments, no shell) with the URL appended.
    /// The program is looked up in `PATH` when it has no slash.
    package static func command(_ command: [String]) -> BrowserLauncher {
        BrowserLauncher { url in
            guard let program = command.first else { return false }
            // Not awaited: xdg-open may run the browser itself and last as long as it.
            // ChildProcess reaps it whenever it ends.
            return (try? ChildProcess(executable: resolve(program), arguments: Array(command.dropFirst()) + [url])) != nil
        }
    }

    /// Does nothing: the URL is only reported to waiting clients and `tokenbroker status`.
    package static let none = BrowserLauncher(open: { _ in false }, isAvailable: false)

    /// A custom action, for tests and embedders.
    package static func custom(_ action: @escaping @Sendable (String) async -> Bool) -> BrowserLauncher {
        BrowserLauncher(open: action)
    }

    /// `xdg-open` when a desktop session is present, else nothing (the contract's default).
    package static func systemDefault(environment: [String: String]) -> BrowserLauncher {
        let path = environment["PATH"]
        return defaultCommand(environment: environment, find: { find($0, path: path) }).map(command) ?? .none
    }

    /// The command ``systemDefault(environment:)`` runs, if any.
    ///
    /// Under systemd (`INVOCATION_ID` is set) the daemon runs in its unit's sandbox, and a
    /// browser started from it would inherit that sandbox: a read-only home, no netlink,
    /// and MemoryDenyWriteExecute, which breaks a browser's JavaScript JIT. So there the
    /// URL goes to `xdg-open` in a transient unit of the user's service manager
    /// (`systemd-run --user`), outside the sandbox, with the session's environment.
    /// `find` gives a program's path, `nil` when it is not installed.
    static func defaultCommand(environment: [String: String], find: (String) -> String?) -> [String]? {
        let hasDesktop = ["DISPLAY", "WAYLAND_DISPLAY"].contains { !(environment[$0] ?? "").isEmpty }
        guard hasDesktop else { return nil }
        if !(environment["INVOCATION_ID"] ?? "").isEmpty, let systemdRun = find("systemd-run") {
            return [systemdRun, "--user", "--quiet", "--collect", "--", "xdg-open"]
        }
        return [find("xdg-open") ?? "xdg-open"]
    }

    private static func resolve(_ program: String) -> String {
        find(program, path: ProcessInfo.processInfo.environment["PATH"]) ?? program
    }

    /// `program` itself when it has a slash, else the first executable of that name in `path`.
    private static func find(_ program: String, path: String?) -> String? {
        if program.contains("/") { return program }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
