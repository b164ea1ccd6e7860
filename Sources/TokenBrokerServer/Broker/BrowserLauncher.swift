internal import Foundation
internal import Logging

/// Shows a sign-in URL to the person: runs `--browser-command` or an injected action.
public struct BrowserLauncher: Sendable {
    let open: @Sendable (String) async -> Bool

    /// Runs `command` (program and leading arguments, no shell) with the URL appended.
    /// The program is looked up in `PATH` when it has no slash.
    public static func command(_ command: [String]) -> BrowserLauncher {
        BrowserLauncher { url in
            guard let program = command.first else { return false }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: resolve(program))
            process.arguments = Array(command.dropFirst()) + [url]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do {
                try process.run()
                return true
            } catch {
                return false
            }
        }
    }

    /// Does nothing: the URL is only reported to waiting clients and `tokenbroker status`.
    public static let none = BrowserLauncher { _ in false }

    /// A custom action, for tests and embedders.
    public static func custom(_ action: @escaping @Sendable (String) async -> Bool) -> BrowserLauncher {
        BrowserLauncher(open: action)
    }

    /// `xdg-open` when a desktop session is present, else nothing (the contract's default).
    public static func systemDefault(environment: [String: String]) -> BrowserLauncher {
        let hasDesktop = ["DISPLAY", "WAYLAND_DISPLAY"].contains { !(environment[$0] ?? "").isEmpty }
        return hasDesktop ? .command(["xdg-open"]) : .none
    }

    private static func resolve(_ program: String) -> String {
        if program.contains("/") { return program }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return program
    }
}
