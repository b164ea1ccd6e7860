import Foundation
import Testing
import TokenBrokerProtocol
@testable import TokenBrokerServer

#if canImport(Glibc)
import Glibc
#endif

/// The socket protocol under abuse, over the real socket: every bad line gets the
/// contract's error, and neither the connection (where the contract says so) nor the
/// daemon suffers.
@Suite(.timeLimit(.minutes(2)))
struct ProtocolTests {
    /// One answer line, read independently of the daemon's own types.
    struct Line {
        var object: [String: Any]

        init(_ text: String) throws {
            guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                throw UnexpectedError(description: "not a JSON object: \(text.prefix(200))")
            }
            self.object = object
        }

        var id: Any? { object["id"] }
        var idIsNull: Bool { object["id"] is NSNull }
        var intID: Int? { (object["id"] as? NSNumber)?.intValue }
        var error: [String: Any]? { object["error"] as? [String: Any] }
        var code: Int? { (error?["code"] as? NSNumber)?.intValue }
        var reason: String? { (error?["data"] as? [String: Any])?["reason"] as? String }
        var hasResult: Bool { object["result"] != nil }
        var jsonrpc: String? { object["jsonrpc"] as? String }
    }

    static func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }
    static let info = #"{"jsonrpc":"2.0","id":7,"method":"broker/info"}"#

    private func withDaemon(_ body: (TestDaemon) async throws -> Void) async throws {
        let daemon = try await TestDaemon(browser: .none)
        do {
            try await body(daemon)
        } catch {
            await daemon.stop()
            throw error
        }
        await daemon.stop()
    }

    @Test func malformedJSONIsAParseErrorAndTheConnectionStaysUsable() async throws {
        try await withDaemon { daemon in
            let lines = try await daemon.client().exchange(raw: Self.line(#"{"jsonrpc":"2.0","id":1,"method":"#) + Self.line(Self.info))
            #expect(lines.count == 2)
            let answers = try lines.map(Line.init)
            let parseError = try #require(answers.first { $0.error != nil })
            #expect(parseError.code == -32700)
            #expect(parseError.reason == "parse_error")
            #expect(parseError.idIsNull)
            #expect(parseError.jsonrpc == "2.0")
            let info = try #require(answers.first { $0.hasResult })
            #expect(info.intID == 7)
        }
    }

    @Test func unknownMethodIsMethodNotFound() async throws {
        try await withDaemon { daemon in
            let lines = try await daemon.client().exchange(raw: Self.line(#"{"jsonrpc":"2.0","id":"x-1","method":"token/steal"}"#))
            let answer = try Line(try #require(lines.only))
            #expect(answer.code == -32601)
            #expect(answer.reason == "method_not_found")
            #expect(answer.id as? String == "x-1")
        }
    }

    static let badParams: [String] = [
        #"{}"#,
        #"{"scopes":["files:read"]}"#,
        #"{"resource":42}"#,
        #"{"resource":"https://mcp.example.com/mcp#section"}"#,
        #"{"resource":"mcp.example.com/mcp"}"#,
        #"{"resource":"ftp://mcp.example.com/mcp"}"#,
        #"{"resource":"http://mcp.example.com/mcp"}"#,
        #"{"resource":"https://mcp.example.com/mcp","scopes":"files:read"}"#,
        #"{"resource":"https://mcp.example.com/mcp","status":200,"challenge":"Bearer"}"#,
    ]

    @Test(arguments: badParams)
    func badTokenParamsAreInvalidParams(_ params: String) async throws {
        try await withDaemon { daemon in
            let request = #"{"jsonrpc":"2.0","id":3,"method":"token/get","params":\#(params)}"#
            let lines = try await daemon.client().exchange(raw: Self.line(request))
            let answer = try Line(try #require(lines.only))
            #expect(answer.code == -32602)
            #expect(answer.reason == "invalid_params")
            #expect(answer.intID == 3)
        }
    }

    @Test func batchIsAnInvalidRequestAndTheConnectionStaysUsable() async throws {
        try await withDaemon { daemon in
            let batch = "[\(Self.info)]"
            let lines = try await daemon.client().exchange(raw: Self.line(batch) + Self.line(Self.info))
            let answers = try lines.map(Line.init)
            #expect(answers.count == 2)
            let refused = try #require(answers.first { $0.error != nil })
            #expect(refused.code == -32600)
            #expect(refused.reason == "invalid_request")
            #expect(refused.idIsNull)
            #expect(answers.contains { $0.hasResult && $0.intID == 7 })
        }
    }

    @Test func notJSONRPCIsAnInvalidRequest() async throws {
        try await withDaemon { daemon in
            let lines = try await daemon.client().exchange(
                raw: Self.line(#"{"id":4,"method":"broker/info"}"#) + Self.line(#"{"jsonrpc":"1.0","id":5,"method":"broker/info"}"#)
                    + Self.line("42"))
            let answers = try lines.map(Line.init)
            #expect(answers.count == 3)
            #expect(answers.allSatisfy { $0.code == -32600 && $0.reason == "invalid_request" })
        }
    }

    @Test func pipelinedRequestsAreAllAnsweredByID() async throws {
        try await withDaemon { daemon in
            let requests = (1...5).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"broker/info"}"# }
            let lines = try await daemon.client().exchange(raw: requests.flatMap(Self.line))
            let ids = try lines.map(Line.init).compactMap(\.intID)
            #expect(Set(ids) == [1, 2, 3, 4, 5])
            #expect(ids.count == 5)
        }
    }

    /// Far more lines than the socket and the daemon buffer, sent before any answer is
    /// read: the daemon stops reading while its answers wait and goes on as the client
    /// reads, and every line is answered once: those it answers on the event loop
    /// (`broker/info`, unparseable lines) and those its request tasks answer (a `token/get`
    /// without params), up to the half-close.
    @Test func aFloodOfPipelinedRequestsIsAnsweredInFull() async throws {
        try await withDaemon { daemon in
            let count = 20_000
            var expectedIDs: Set<Int> = []
            var unparseable = 0
            var bytes: [UInt8] = []
            for id in 1...count {
                switch id % 10 {
                case 0:
                    bytes += Self.line(#"{"jsonrpc":"2.0","id":\#(id),"method":"token/get","params":{}}"#)
                    expectedIDs.insert(id)
                case 7:
                    bytes += Self.line("x")
                    unparseable += 1
                default:
                    bytes += Self.line(#"{"jsonrpc":"2.0","id":\#(id),"method":"broker/info"}"#)
                    expectedIDs.insert(id)
                }
            }
            let answers = try await daemon.client().exchange(raw: bytes).map(Line.init)
            let ids = answers.compactMap(\.intID)
            #expect(ids.count == expectedIDs.count)
            #expect(expectedIDs.subtracting(ids).isEmpty)
            #expect(answers.filter { $0.idIsNull && $0.reason == "parse_error" }.count == unparseable)
            #expect(answers.filter { $0.reason == "invalid_params" }.count == count / 10)
        }
    }

    @Test func oversizedLineIsRefusedAndClosesOnlyItsConnection() async throws {
        try await withDaemon { daemon in
            // Open a second connection first: it must survive the first one's abuse.
            let bystander = try await RawConnection.open(path: daemon.socketPath)
            defer { bystander.close() }

            let huge = Array(#"{"jsonrpc":"2.0","id":1,"method":"broker/info","params":{"pad":""#.utf8)
                + [UInt8](repeating: UInt8(ascii: "a"), count: BrokerProtocol.maximumLineLength) + Array(#""}}"#.utf8)
            let abuser = try await RawConnection.open(path: daemon.socketPath)
            defer { abuser.close() }
            let lines = await abuser.exchange(huge + Self.line("") + Self.line(Self.info), halfClose: false)
            // One -32600, and nothing for the valid request after it: the connection closed
            // (the read ended without the test half-closing).
            let answer = try Line(try #require(lines.only))
            #expect(answer.code == -32600)
            #expect(answer.reason == "invalid_request")
            #expect(answer.idIsNull)

            // The daemon still serves: the bystander and a new connection.
            let bystanderLines = await bystander.exchange(Self.line(Self.info), halfClose: true)
            #expect(try bystanderLines.map(Line.init).first?.intID == 7)
            let fresh = try await daemon.client().call(.brokerInfo)
            #expect(fresh.response.result != nil)
        }
    }
}

/// A blocking Unix-socket client on its own thread: writes everything (ignoring a peer
/// that stops reading), then reads until the daemon closes. NIO would drop unread
/// input when a write fails, and this test needs exactly that input.
final class RawConnection: Sendable {
    let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    static func open(path: String) async throws -> RawConnection {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            Glibc.close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        return RawConnection(descriptor: descriptor)
    }

    /// Sends `bytes`, optionally half-closes, and returns the lines read until EOF or error.
    func exchange(_ bytes: [UInt8], halfClose: Bool) async -> [String] {
        let descriptor = descriptor
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var offset = 0
                while offset < bytes.count {
                    let written = bytes[offset...].withUnsafeBytes { buffer in
                        send(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL))
                    }
                    if written <= 0 { break }  // the daemon closed: keep what it said
                    offset += written
                }
                if halfClose { shutdown(descriptor, Int32(SHUT_WR)) }
                var received: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                    if count <= 0 { break }
                    received += chunk[0..<count]
                }
                let lines = received.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
                continuation.resume(returning: lines)
            }
        }
    }

    func close() {
        Glibc.close(descriptor)
    }
}
