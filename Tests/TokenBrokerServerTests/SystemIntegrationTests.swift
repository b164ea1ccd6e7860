import Foundation
import Testing
import TokenBrokerProtocol
@testable import TokenBrokerServer
import TokenBrokerSystem

#if canImport(Glibc)
import Glibc
import TokenBrokerTestKit
#endif

/// The daemon's contract with the operating system: systemd readiness, file modes,
/// and who may talk to it.
@Suite struct SystemIntegrationTests {
    /// A datagram socket standing in for systemd's `NOTIFY_SOCKET`.
    final class NotifySocket: Sendable {
        let path: String
        let descriptor: Int32

        init(directory: TemporaryDirectory) throws {
            path = directory.path + "/notify"
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else { throw POSIXError(.EADDRINUSE) }
        }

        /// The next datagram, or `nil` when none came within `seconds` (a broken daemon
        /// must fail the test, not hang it; the daemon sends before it reports ready).
        func receive(within seconds: Int32 = 30) -> String? {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, seconds * 1000) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            return String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)
        }

        deinit { close(descriptor) }
    }

    @Test func readinessIsSentToSystemd() async throws {
        let directory = try TemporaryDirectory()
        let notify = try NotifySocket(directory: directory)
        try await TestDaemon(browser: .none, environment: ["NOTIFY_SOCKET": notify.path]).whileRunning { daemon in
            #expect(notify.receive() == "READY=1")
        }
    }

    @Test func socketAndDatabaseFilesAreOwnerOnly() async throws {
        let daemon = try await TestDaemon(browser: .none)
        func mode(_ path: String) -> mode_t {
            var info = stat()
            stat(path, &info)
            return info.st_mode & 0o777
        }
        #expect(mode((daemon.socketPath as NSString).deletingLastPathComponent) == 0o700)
        #expect(mode(daemon.socketPath) == 0o600)
        #expect(mode(daemon.databasePath) == 0o600)
        let info = try await daemon.client().call(.brokerInfo)
        let result = try BrokerInfo(jsonValue: try #require(info.response.result))
        #expect(result.socket == daemon.socketPath)
        #expect(result.pid == Int(getpid()))
        await daemon.stop()
        #expect(!FileManager.default.fileExists(atPath: daemon.socketPath))
    }

    @Test func aSecondDaemonOnTheSameDatabaseIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let first = try await TestDaemon(directory: directory, browser: .none)
        await #expect(throws: (any Error).self) {
            _ = try await TestDaemon(directory: directory, browser: .none)
        }
        // The first one still serves.
        #expect(try await first.client().call(.brokerInfo).response.result != nil)
        await first.stop()
    }

    /// SO_PEERCRED: even when file modes would let another user connect, the daemon
    /// closes the connection without a word (the peer may see a reset or a broken pipe
    /// when the close comes before its line is read). Needs root to become `nobody`.
    @Test(.enabled(
        if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
        "needs root and setpriv, to connect as another uid"))
    func peersOfAnotherUserAreRefused() async throws {
        try await TestDaemon(browser: .none).whileRunning { daemon in
            // Loosen the modes on purpose, so only the credential check stands in the way.
            chmod(daemon.directory.path, 0o711)
            chmod((daemon.socketPath as NSString).deletingLastPathComponent, 0o711)
            chmod(daemon.socketPath, 0o666)
            let script = """
                import socket, sys
                s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
                try:
                    s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"broker/info"}\\n')
                    data = s.recv(65536)
                except (BrokenPipeError, ConnectionResetError):  # closed before or without reading our line
                    data = b""
                print("answered" if data else "closed")
                """
            let process = try ChildProcess(
                executable: "/usr/bin/setpriv",
                arguments: ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, daemon.socketPath],
                standardOutput: .pipe, standardError: .pipe)
            let (printed, complaint) = try await offThePool {
                let printed = String(decoding: process.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
                let complaint = String(decoding: process.standardError!.readDataToEndOfFile(), as: UTF8.self)
                _ = process.waitBlocking()
                return (printed, complaint)
            }
            #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == "closed", "\(complaint)")
            // Our own uid is still served.
            #expect(try await daemon.client().call(.brokerInfo).response.result != nil)
        }
    }
}
