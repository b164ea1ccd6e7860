import Testing
import TokenBrokerProtocol

@testable import TokenBrokerBridge

@Suite struct RelayedMessageTests {
    private func message(_ text: String) throws -> RelayedMessage {
        try RelayedMessage(bytes: Array(text.utf8))
    }

    private func headers(_ text: String, negotiated: String? = nil) throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try message(text).routingHeaders(negotiatedProtocolVersion: negotiated).map { ($0.name, $0.value) })
    }

    @Test func kinds() throws {
        #expect(try message(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).kind == .request(id: 1, method: "tools/list"))
        #expect(try message(#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#).requestIDs == ["a"])
        #expect(try message(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).kind == .notification(method: "notifications/initialized"))
        #expect(try message(#"{"jsonrpc":"2.0","id":null,"method":"x"}"#).kind == .notification(method: "x"))
        #expect(try message(#"{"jsonrpc":"2.0","id":5,"result":{}}"#).kind == .response(id: 5))
        #expect(try message(#"{"jsonrpc":"2.0","id":5,"error":{"code":1,"message":"m"}}"#).answeredIDs == [5])
        let batch = try message(#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":2,"method":"b"}]"#)
        #expect(batch.requestIDs == [1, 2])
    }

    /// The bytes go on as the host wrote them, spacing and key order included.
    @Test func bytesAreKeptAsWritten() throws {
        let text = #"{ "method" : "ping", "id":1 ,"jsonrpc":"2.0" }"#
        #expect(try message(text).bytes == Array(text.utf8))
    }

    @Test func linesThatAreNoMessage() {
        #expect(throws: MessageProblem.self) { try message("not json") }
        #expect(throws: MessageProblem.self) { try message("42") }
        #expect(throws: MessageProblem.self) { try message("[]") }
        #expect(throws: MessageProblem.self) { try message(#"{"jsonrpc":"2.0","id":3}"#) }
    }

    /// 2026-07-28: Mcp-Method always, Mcp-Name for the three name-bearing methods.
    @Test func routingHeaders() throws {
        #expect(try headers(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read"}}"#, negotiated: "2025-06-18")
            == ["MCP-Protocol-Version": "2025-06-18", "Mcp-Method": "tools/call", "Mcp-Name": "read"])
        #expect(try headers(#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a b"}}"#)
            == ["Mcp-Method": "resources/read", "Mcp-Name": "file:///a b"])
        #expect(try headers(#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p"}}"#)["Mcp-Name"] == "p")
        #expect(try headers(#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#) == ["Mcp-Method": "tools/list"])
        #expect(try headers(#"{"jsonrpc":"2.0","id":1,"result":{}}"#, negotiated: "2025-06-18") == ["MCP-Protocol-Version": "2025-06-18"])
    }

    /// A stateless 2026-07-28 request names its version in `params._meta`; the header must match it.
    @Test func theEnvelopeVersionWins() throws {
        let text = #"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#
        #expect(try headers(text, negotiated: "2025-06-18")["MCP-Protocol-Version"] == "2026-07-28")
    }

    /// Values that would not survive a header go base64 in the sentinel, as the Python SDK
    /// encodes them (`encode_header_value`).
    @Test func headerValuesThatNeedEncoding() {
        #expect(RelayedMessage.headerValue("read") == "read")
        #expect(RelayedMessage.headerValue("café") == "=?base64?Y2Fmw6k=?=")
        #expect(RelayedMessage.headerValue(" x") == "=?base64?IHg=?=")
        #expect(RelayedMessage.headerValue("a\r\nX-Injected: 1") == "=?base64?YQ0KWC1JbmplY3RlZDogMQ==?=")
        #expect(RelayedMessage.headerValue("=?base64?eA==?=") == "=?base64?PT9iYXNlNjQ/ZUE9PT89?=")
    }

    @Test func negotiatedVersion() throws {
        #expect(try message(#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18"}}"#).negotiatedProtocolVersion == "2025-06-18")
    }
}

@Suite struct HostLineFramerTests {
    private func lines(_ chunks: [String], limit: Int = 16) -> [String] {
        var framer = HostLineFramer(maximumLength: limit)
        return chunks.flatMap { framer.append(Array($0.utf8)[...]) }.map {
            switch $0 {
            case .line(let bytes): String(decoding: bytes, as: UTF8.self)
            case .oversized: "<oversized>"
            }
        }
    }

    @Test func linesAcrossChunks() {
        #expect(lines(["{\"a\"", ":1}\r\n\n  \n{}", "\n"]) == ["{\"a\":1}", "{}"])
    }

    /// An oversized line is reported once and skipped to its end; the next line is read.
    @Test func anOversizedLineIsSkippedAndReadingGoesOn() {
        #expect(lines([String(repeating: "x", count: 10), String(repeating: "y", count: 10), "z\n{}\n"]) == ["<oversized>", "{}"])
        #expect(lines([String(repeating: "x", count: 40) + "\nok\n"]) == ["<oversized>", "ok"])
    }
}
