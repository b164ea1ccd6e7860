import Foundation
import Testing
import TokenBrokerClient
import TokenBrokerCore
import TokenBrokerProtocol
import TokenBrokerSystem
import TokenBrokerTestKit
@testable import TokenBrokerServer

/// The socket's place (issue 11): a live daemon's socket is never taken over, a daemon
/// removes only the socket it created, an unsafe directory is refused rather than
/// repaired, and a client sends nothing to a socket another user serves.
@Suite struct SocketPlaceTests {
    static let configuration = BrokerConfiguration(transportPolicy: .loopbackHTTPAllowed, browser: .none)

    @Test func aSecondDaemonOnALiveSocketIsRefusedAndTheFirstKeepsServing() async throws {
        let first = try await TestDaemon(browser: .none)
        try await withTeardown {
            var refusal = ""
            do {
                let second = try await TestDaemon(socketPath: first.socketPath, configuration: Self.configuration)
                await second.stop()
            } catch {
                refusal = "\(error)"
            }
            #expect(refusal.contains("another tokenbrokerd already serves \(first.socketPath)"))
            let info = try await first.client().call(.brokerInfo)
            #expect(info.response.error == nil)
        } teardown: {
            await first.stop()
        }
    }

    @Test func aStaleSocketIsReplacedAndOnlyTheOwnSocketIsRemovedAtExit() async throws {
        let directory = try TemporaryDirectory()
        // Its deinit removes it: alive until the test ends, not just until its last use.
        defer { withExtendedLifetime(directory) {} }
        let socket = directory.path + "/socket"
        // A socket file nothing listens on, as a daemon killed with SIGKILL leaves.
        close(try Self.bindSocket(at: socket, listening: false))
        let daemon = try await TestDaemon(socketPath: socket, configuration: Self.configuration)
        #expect(try await daemon.client().call(.brokerInfo).response.error == nil)
        // Another daemon's socket now stands where this one's was: it stays at exit.
        unlink(socket)
        let other = try Self.bindSocket(at: socket, listening: true)
        defer { close(other) }
        await daemon.stop()
        #expect(FileManager.default.fileExists(atPath: socket))
    }

    @Test func theDaemonsOwnSocketIsRemovedAtExit() async throws {
        let daemon = try await TestDaemon(browser: .none)
        let socket = daemon.socketPath
        #expect(FileManager.default.fileExists(atPath: socket))
        await daemon.stop()
        #expect(!FileManager.default.fileExists(atPath: socket))
    }

    /// A directory the daemon did not create keeps its mode (`--socket ~/x.sock` once
    /// made the home directory 0700); a symbolic link, a file, or a directory others can
    /// write to is refused.
    @Test func unsafeDirectoriesAreRefusedAndOthersLeftAlone() async throws {
        let directory = try TemporaryDirectory()
        // Its deinit removes it: alive until the test ends, not just until its last use.
        defer { withExtendedLifetime(directory) {} }
        let home = directory.path + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
        chmod(home, 0o755)
        let daemon = try await TestDaemon(socketPath: home + "/x.sock", configuration: Self.configuration)
        await daemon.stop()
        var info = stat()
        stat(home, &info)
        #expect(info.st_mode & 0o777 == 0o755)

        try FileManager.default.createSymbolicLink(atPath: directory.path + "/link", withDestinationPath: home)
        let shared = directory.path + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false)
        chmod(shared, 0o777)
        for (path, reason) in [
            (directory.path + "/link/socket", "is a symbolic link"),
            (shared + "/socket", "others can write to the socket directory"),
        ] {
            let refusal = #expect(throws: SocketPlace.Refusal.self) { try SocketPlace.prepareDirectory(for: path) }
            #expect(refusal?.description.contains(reason) == true)
        }
        // The shared-/tmp fallback must be exactly ours, 0700.
        let uid = getuid()
        let fallback = BrokerPaths.fallbackSocketDirectory(userID: uid)
        if !FileManager.default.fileExists(atPath: fallback) {
            mkdir(fallback, 0o755)
            defer { rmdir(fallback) }
            #expect(throws: SocketPlace.Refusal.self) { try SocketPlace.prepareDirectory(for: fallback + "/socket") }
        }
    }

    /// A socket served by another uid gets no request from the client library: the
    /// impostor reads nothing. Needs root, to serve as another uid.
    @Test(.enabled(
        if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
        "needs root and setpriv, to serve a socket as another uid"))
    func aClientSendsNothingToAnotherUsersSocket() async throws {
        let directory = try TemporaryDirectory()
        // Its deinit removes it: alive until the test ends, not just until its last use.
        defer { withExtendedLifetime(directory) {} }
        chmod(directory.path, 0o777)
        let socket = directory.path + "/socket"
        let received = directory.path + "/received"
        // As nobody: listen, accept one connection, record what it sent (until it closes).
        let impostor = try ChildProcess(
            executable: "/usr/bin/setpriv",
            arguments: [
                "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
                """
                import os, socket, sys
                s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(1)
                print("ready", flush=True)
                c, _ = s.accept(); data = b""
                while True:
                    chunk = c.recv(65536)
                    if not chunk: break
                    data += chunk
                open(sys.argv[2], "wb").write(data)
                """,
                socket, received,
            ],
            standardOutput: .pipe)
        defer {
            impostor.send(signal: SIGTERM)
            _ = impostor.waitBlocking()
        }
        let handle = impostor.standardOutput!
        let ready = try await offThePool {
            var said = ""
            while !said.contains("\n") {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                said += String(decoding: chunk, as: UTF8.self)
            }
            return said
        }
        #expect(ready == "ready\n")
        let error = await #expect(throws: BrokerClientError.self) { _ = try await BrokerClient(socketPath: socket).info() }
        #expect(error?.code == .connectionFailed)
        #expect(error?.description.contains("served by uid 65534") == true)
        _ = try await offThePool { impostor.waitBlocking() }
        #expect(try Data(contentsOf: URL(fileURLWithPath: received)).isEmpty)
    }

    /// Binds a socket file at `path` (listening on it when asked); returns its descriptor.
    static func bindSocket(at path: String, listening: Bool) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, !listening || listen(descriptor, 1) == 0 else {
            close(descriptor)
            throw POSIXError(.EADDRINUSE)
        }
        return descriptor
    }
}

/// The audit log names each peer's executable, read from /proc with one readlink(2).
@Test func aPeersExecutableIsItsProcsExe() throws {
    let mine = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    #expect(BrokerSocketServer.executablePath(of: getpid()) == mine)
    #expect(BrokerSocketServer.executablePath(of: -1) == nil)
}
