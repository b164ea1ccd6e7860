import Foundation
import NIOCore
import NIOEmbedded
import Testing
@testable import TokenBrokerServer
import TokenBrokerSystem

#if canImport(Glibc)
import Glibc
import TokenBrokerTestKit
#endif

/// A crowd of idle connections (a leaking host, a buggy script) must not lock other clients
/// out, under the 1,024 descriptors a systemd user service starts with.
@Suite(.serialized) struct DescriptorLimitTests {
    /// The real daemon under `ulimit -S -n 1024` (soft only, as systemd gives), or with the
    /// hard limit at 1,024 too; a crowd of 1,100 idle connections; meanwhile a busy client
    /// keeps asking, and at the end a new client is answered.
    @Test(arguments: [false, true])
    func aNewClientIsAnsweredPastACrowdOfIdleConnections(hardLimitToo: Bool) async throws {
        raiseOwnDescriptorLimit()
        let directory = try TemporaryDirectory()
        let notify = try SystemIntegrationTests.NotifySocket(directory: directory)
        let socketPath = directory.path + "/socket"
        let limit = hardLimitToo ? "ulimit -n 1024" : "ulimit -S -n 1024"
        let daemon = try ChildProcess(
            executable: "/bin/sh",
            arguments: [
                "-c", "\(limit) && exec \"$0\" \"$@\"", executable("tokenbrokerd"),
                "--socket", socketPath, "--database", directory.path + "/broker.sqlite3", "--log-level", "warning",
            ],
            environment: ProcessInfo.processInfo.environment.merging(["NOTIFY_SOCKET": notify.path]) { $1 },
            standardError: .pipe)
        defer { daemon.send(signal: SIGKILL) }
        #expect(try await offThePool { notify.receive() } == "READY=1")

        let busy = try RawClient(path: socketPath)
        var crowd: [RawClient] = []
        defer { crowd.forEach { $0.close() } }
        for round in 0..<11 {
            for _ in 0..<100 { crowd.append(try RawClient(path: socketPath)) }
            // The busy client keeps being answered while the crowd grows.
            #expect(try await offThePool { try busy.ask(id: round) }.contains(#""version""#))
        }
        let newcomer = try RawClient(path: socketPath)
        #expect(try await offThePool { try newcomer.ask(id: 99) }.contains(#""version""#))
        #expect(try await offThePool { try busy.ask(id: 100) }.contains(#""version""#))
        newcomer.close()
        busy.close()
    }

    /// The policy, exactly: at the cap the connection idle longest with nothing in flight
    /// is closed; when every one waits for an answer, the newcomer is refused.
    @Test func theIdlestConnectionWithoutRequestsMakesRoom() async throws {
        let limiter = ConnectionLimiter(capacity: 2)
        func connected() async throws -> EmbeddedChannel {
            let channel = EmbeddedChannel()
            try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
            return channel
        }
        let first = try await connected()
        let second = try await connected()
        let third = try await connected()
        let fourth = try await connected()
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        guard case .admitted(let firstID) = limiter.admit(first, now: start),
            case .admitted(let secondID) = limiter.admit(second, now: start + .seconds(1))
        else { Issue.record("the first two were not admitted"); return }
        limiter.touch(firstID, now: start + .seconds(2))  // now the second is the idlest
        guard case .admitted(let thirdID) = limiter.admit(third, now: start + .seconds(3)) else {
            Issue.record("the third was not admitted")
            return
        }
        #expect(!second.isActive && first.isActive)
        #expect(limiter.count == 2)

        // Both remaining connections wait for answers: nobody can be closed.
        limiter.requestStarted(firstID)
        limiter.requestStarted(thirdID)
        #expect(limiter.admit(fourth, now: start + .seconds(4)) == .refused)
        #expect(first.isActive && third.isActive)
        limiter.requestEnded(thirdID, now: start + .seconds(5))
        #expect(limiter.admit(fourth, now: start + .seconds(6)) != .refused)
        #expect(!third.isActive && first.isActive)
        _ = secondID
    }

    @Test func theCapLeavesDescriptorsForEverythingElse() {
        #expect(ConnectionLimiter.capacity(forDescriptorLimit: 1024) == 768)
        #expect(ConnectionLimiter.capacity(forDescriptorLimit: 256) == 128)
        #expect(ConnectionLimiter.capacity(forDescriptorLimit: 524_288) == 8192)
    }
}

/// The test process holds more than 1,024 sockets.
private func raiseOwnDescriptorLimit() {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
}

/// A blocking Unix-socket client: connects, and asks `broker/info` on demand.
private final class RawClient: Sendable {
    let descriptor: Int32

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EMFILE) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        // A guard against a hang, not a timing assertion: a refused client would wait forever.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            Glibc.close(descriptor)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECONNREFUSED)
        }
    }

    /// Sends `broker/info` and reads the answer line.
    func ask(id: Int) throws -> String {
        let request = Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"broker/info"}"#.utf8) + [0x0A]
        guard request.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw POSIXError(.EPIPE)
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !answer.contains(0x0A) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { throw POSIXError(count == 0 ? .ECONNRESET : POSIXErrorCode(rawValue: errno) ?? .EIO) }
            answer += buffer[..<count]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    func close() {
        Glibc.close(descriptor)
    }
}
