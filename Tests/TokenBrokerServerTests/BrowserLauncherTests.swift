import Foundation
import Testing
@testable import TokenBrokerServer

#if canImport(Glibc)
import Glibc
import TokenBrokerTestKit
#endif

/// Which program shows the sign-in URL by default, and how it is run.
@Suite(.timeLimit(.minutes(1)))
struct BrowserLauncherTests {
    /// Every program is installed, under its own name.
    static func everythingInstalled(_ program: String) -> String? { program }

    @Test func withoutADesktopNothingIsOpened() {
        #expect(BrowserLauncher.defaultCommand(environment: ["INVOCATION_ID": "1"], find: Self.everythingInstalled) == nil)
        #expect(BrowserLauncher.defaultCommand(environment: ["DISPLAY": ""], find: Self.everythingInstalled) == nil)
    }

    @Test func aDesktopSessionOpensXDGOpen() {
        #expect(BrowserLauncher.defaultCommand(environment: ["WAYLAND_DISPLAY": "wayland-0"], find: Self.everythingInstalled) == ["xdg-open"])
    }

    /// Under systemd, out of the unit's sandbox through the user's service manager; where
    /// systemd-run is missing, xdg-open all the same.
    @Test func underSystemdItGoesThroughTheUserManager() {
        let service = ["DISPLAY": ":0", "INVOCATION_ID": "5f0c0e5a"]
        #expect(BrowserLauncher.defaultCommand(environment: service, find: Self.everythingInstalled)
            == ["systemd-run", "--user", "--quiet", "--collect", "--", "xdg-open"])
        #expect(BrowserLauncher.defaultCommand(environment: service) { $0 == "systemd-run" ? nil : $0 } == ["xdg-open"])
    }

    /// The launcher really runs the program it found on the environment's PATH, with the
    /// URL as the last argument: a stand-in `systemd-run` reports its arguments on a FIFO.
    @Test func theLauncherRunsTheProgramFoundOnPath() async throws {
        let directory = try TemporaryDirectory()
        let report = directory.path + "/report"
        #expect(mkfifo(report, 0o600) == 0)
        let stub = directory.path + "/systemd-run"
        // Written through a close-on-exec descriptor: one inherited by a process another
        // test spawns meanwhile would make running the stub fail ("text file busy").
        let script = Array("#!/bin/sh\necho \"$*\" > '\(report)'\n".utf8)
        let descriptor = open(stub, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
        #expect(descriptor >= 0)
        #expect(script.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } == script.count)
        close(descriptor)

        let launcher = BrowserLauncher.systemDefault(environment: ["DISPLAY": ":0", "INVOCATION_ID": "1", "PATH": directory.path])
        let url = "https://auth.example.com/authorize?client_id=c&state=s"
        #expect(await launcher.open(url))
        // Opening the FIFO waits for the stub to write: no sleeping. Should the stub never
        // run, the time limit's cancellation opens and closes the FIFO's writing end, so
        // the read ends empty and the test fails instead of hanging the run.
        let arguments = try await withTaskCancellationHandler {
            try await offThePool { () throws -> String in
                guard let fifo = FileHandle(forReadingAtPath: report) else { throw POSIXError(.EIO) }
                return String(decoding: fifo.readDataToEndOfFile(), as: UTF8.self)
            }
        } onCancel: {
            let writer = open(report, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            if writer >= 0 { close(writer) }
        }
        #expect(arguments == "--user --quiet --collect -- xdg-open \(url)\n")
    }
}
