import Foundation
import Logging
import Testing
import TokenBrokerProtocol
@testable import TokenBrokerServer
import TokenBrokerTestKit

/// Local clients that send absurd but well-formed requests: each gets bounded work, and the
/// daemon keeps serving everyone else.
@Suite(.timeLimit(.minutes(2))) struct HostileClientTests {
    /// `waitSeconds` of Int.max for a sign-in nobody finishes once trapped converting the
    /// wait to a `Duration`, taking every connection and pending sign-in with it. Now it is
    /// refused by name; the longest wait allowed still leaves the daemon serving.
    @Test func anAbsurdWaitLeavesTheDaemonServing() async throws {
        let fake = try await FakeOAuthServer.start()
        try await TestDaemon(browser: .none).whileRunning { daemon in
            let (pending, announce) = AsyncStream.makeStream(of: String.self)
            let client = daemon.client()
            let absurd = try await client.call(.tokenGet, ["resource": .string(fake.resource), "waitSeconds": .integer(Int.max)])
            #expect(absurd.reason == "invalid_params")
            #expect(absurd.response.error?.message.contains("waitSeconds") == true)
            let waiting = Task {
                try await client.call(
                    .tokenGet, ["resource": .string(fake.resource), "waitSeconds": .integer(TokenGetParams.longestSeconds)],
                    onNotification: { notification in announce.yield(notification.method.rawValue) })
            }
            // The daemon is waiting for the sign-in once it has said so.
            var notifications = pending.makeAsyncIterator()
            #expect(await notifications.next() == "authorization/pending")
            let info = try await client.call(.brokerInfo)
            #expect(info.response.error == nil)
            #expect(try await client.call(.tokenGet, ["resource": .string(fake.resource), "interactive": false]).reason
                == "authorization_required")
            waiting.cancel()
        }
    }

    /// A client that goes away while its request waits for a sign-in takes the request
    /// with it: it ends at once (it once waited out its 300 s, and could open the browser
    /// for nobody after a refresh failed).
    @Test func aClientThatGoesAwayTakesItsRequestsWithIt() async throws {
        let records = EventLog<CapturedLog>()
        try await Scenario.run(
            browser: .manual(), launcher: BrowserLauncher.none, logLevel: .debug, logHandler: CapturingLogHandler(records: records)
        ) { s in
            let request = #"{"jsonrpc":"2.0","id":1,"method":"token/get","params":{"resource":"\#(s.fake.resource)","waitSeconds":300}}"#
            let socketPath = s.daemon.socketPath
            // Send, read until the daemon says it waits for a sign-in, then close entirely.
            let sawPending = try await offThePool { () throws -> Bool in
                let connection = try BlockingLineSocket(path: socketPath)
                defer { connection.close() }
                connection.send(request + "\n")
                while let line = connection.readLine() {
                    if line.contains("authorization/pending") { return true }
                }
                return false
            }
            #expect(sawPending)
            // Logged once the connection's requests have ended.
            _ = await records.wait { $0.contains { $0.message == "client went away; its requests were cancelled" } }
            let audit = try AuditListResult(jsonValue: try #require(try await s.client.call(.auditList).response.result))
            #expect(audit.entries.first { $0.method == "token/get" }?.outcome.hasPrefix("denied:") == true)
        }
    }

    /// One connection has at most 64 requests in flight: with 64 waiting for a sign-in,
    /// the daemon reads nothing more from it until one is answered, so a 65th request is
    /// answered only after one of them (it was once read and answered at once, with no
    /// bound on how many a client could start).
    @Test func aConnectionHasAtMost64RequestsInFlight() async throws {
        try await Scenario.run(browser: .manual()) { s in
            let cap = BrokerSocketServer.requestsInFlightPerConnection
            var lines = (1...cap).map { id in
                #"{"jsonrpc":"2.0","id":\#(id),"method":"token/get","params":{"resource":"\#(s.fake.resource)","waitSeconds":300}}"#
            }
            // Not one the event loop answers at once (broker/info, a cache hit): those
            // bypass the request tasks. A bad resource is answered by a task, at once.
            lines.append(#"{"jsonrpc":"2.0","id":"past-the-cap","method":"token/get","params":{"resource":"not a url"}}"#)
            let batch = lines.joined(separator: "\n") + "\n"
            // Open until the end: a closed connection would cancel the 64 and no sign-in
            // would start.
            let connection = try BlockingLineSocket(path: s.daemon.socketPath)
            defer { connection.close() }
            // Which answers came before the 65th request's: read on a thread of its own
            // while the test finishes the sign-in.
            let answersBefore = Task {
                try await offThePool { () throws -> [String] in
                    connection.send(batch)
                    var ids: [String] = []
                    while let line = connection.readLine() {
                        guard let id = try? JSONDecoder().decode(Answer.self, from: Data(line.utf8)).id else { continue }
                        if id == "past-the-cap" { return ids }
                        ids.append(id)
                    }
                    throw UnexpectedError(description: "the connection closed before the 65th request was answered")
                }
            }
            let url = try #require(await s.browser.opened.wait(forCount: 1).first)
            try await s.browser.follow(url)
            let ids = try await answersBefore.value
            #expect(!ids.isEmpty, "the request past the cap was read before any of the 64 was answered")
        }
    }
}

/// Only an answer's id (string or number, as a string).
private struct Answer: Decodable {
    var id: String?

    enum CodingKeys: String, CodingKey { case id }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let number = try? container.decode(Int.self, forKey: .id) {
            id = String(number)
        } else {
            id = try container.decodeIfPresent(String.self, forKey: .id)
        }
    }
}

/// A blocking Unix-socket client, for tests that must control exactly when bytes go
/// and whether the connection closes. Use it off the cooperative pool, from one thread
/// at a time.
private final class BlockingLineSocket: @unchecked Sendable {
    private let descriptor: Int32
    private var pending: [UInt8] = []

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        // A daemon that never answers fails the test instead of blocking its thread forever.
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }

    /// The next line without its newline; nil once the daemon closed the connection.
    func readLine() -> String? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { return nil }
            pending += buffer.prefix(count)
        }
    }

    func close() { Glibc.close(descriptor) }
}
