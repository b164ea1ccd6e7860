import Testing
import TokenBrokerProtocol

@Suite("Classifying a client's line")
struct ClientMessageTests {
    @Test("a request carries its id, method and params")
    func request() throws {
        let message = ClientMessage(line: bytes(#"{"jsonrpc":"2.0","id":7,"method":"token/get","params":{"resource":"https://mcp.example.com/mcp"}}"#))
        #expect(message == .request(JSONRPCRequest(id: 7, method: .tokenGet, params: ["resource": "https://mcp.example.com/mcp"])))
    }

    @Test(
        "ids of either kind are kept exactly",
        arguments: [
            (#"0"#, JSONRPCID.integer(0)), (#"-3"#, .integer(-3)), (#"9007199254740993"#, .integer(9_007_199_254_740_993)),
            (#"9223372036854775807"#, .integer(Int.max)), (#"7.0"#, .integer(7)), (#""abc""#, .string("abc")),
            (#""""#, .string("")), (#""42""#, .string("42")),
        ]
    )
    func ids(idText: String, expected: JSONRPCID) {
        let message = ClientMessage(line: bytes(#"{"jsonrpc":"2.0","id":\#(idText),"method":"broker/info"}"#))
        guard case .request(let request) = message else {
            Issue.record("expected a request, got \(message)")
            return
        }
        #expect(request.id == expected)
        // The response echoes the id in the same form.
        let response = JSONRPCResponse(id: request.id, outcome: .success(.object([:])))
        let echoed = try? JSONValue(parsing: lineBody(response.encodedLine()) ?? [])
        #expect(echoed?["id"] == expected.jsonValue)
    }

    @Test("params may be an object, an array or absent")
    func paramsForms() {
        #expect(ClientMessage(line: bytes(#"{"jsonrpc":"2.0","id":1,"method":"grants/list"}"#)) == .request(JSONRPCRequest(id: 1, method: .grantsList)))
        #expect(ClientMessage(line: bytes(#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#)) == .request(JSONRPCRequest(id: 1, method: "x", params: [1])))
    }

    @Test("a message without an id is a notification")
    func notification() {
        let message = ClientMessage(line: bytes(#"{"jsonrpc":"2.0","method":"client/hello","params":{"a":1}}"#))
        #expect(message == .notification(JSONRPCNotification(method: "client/hello", params: ["a": 1])))
    }

    @Test("unknown members are ignored")
    func unknownMembers() {
        let message = ClientMessage(line: bytes(#"{"jsonrpc":"2.0","id":"x","method":"broker/info","extra":{"future":true}}"#))
        #expect(message == .request(JSONRPCRequest(id: "x", method: .brokerInfo)))
    }

    @Test(
        "a line that is not JSON is a parse error with a null id",
        arguments: ["", "{", "not json", #"{"jsonrpc":"2.0","id":1,"method":"broker/info""#, "\u{FEFF}{}"]
    )
    func parseError(line: String) {
        expectError(ClientMessage(line: bytes(line)), id: nil, code: -32700, reason: "parse_error")
    }

    @Test("invalid UTF-8 is a parse error")
    func invalidUTF8() {
        var line = bytes(#"{"jsonrpc":"2.0","id":1,"method":"broker/info","params":{"application":"x"#)
        line.append(0xFF)
        line.append(contentsOf: bytes(#""}}"#))
        expectError(ClientMessage(line: line), id: nil, code: -32700, reason: "parse_error")
    }

    @Test("a batch is refused with a null id", arguments: ["[]", #"[{"jsonrpc":"2.0","id":1,"method":"broker/info"}]"#])
    func batch(line: String) {
        expectError(ClientMessage(line: bytes(line)), id: nil, code: -32600, reason: "invalid_request")
    }

    @Test(
        "a message that is not a JSON-RPC 2.0 request is refused, with its id when readable",
        arguments: [
            // Not an object at all.
            (#""hello""#, nil, "must be an object"),
            ("42", nil, "must be an object"),
            ("null", nil, "must be an object"),
            // Bad or missing version: the id is echoed.
            (#"{"id":1,"method":"broker/info"}"#, JSONRPCID.integer(1), "`jsonrpc`"),
            (#"{"jsonrpc":"1.0","id":1,"method":"broker/info"}"#, .integer(1), "`jsonrpc`"),
            (#"{"jsonrpc":2.0,"id":"a","method":"broker/info"}"#, .string("a"), "`jsonrpc`"),
            // Method missing or not a string.
            (#"{"jsonrpc":"2.0","id":2}"#, .integer(2), "`method`"),
            (#"{"jsonrpc":"2.0","id":2,"method":42}"#, .integer(2), "`method`"),
            (#"{"jsonrpc":"2.0","id":2,"method":null}"#, .integer(2), "`method`"),
            // Params neither object nor array.
            (#"{"jsonrpc":"2.0","id":3,"method":"token/get","params":"x"}"#, .integer(3), "`params`"),
            (#"{"jsonrpc":"2.0","id":3,"method":"token/get","params":7}"#, .integer(3), "`params`"),
            (#"{"jsonrpc":"2.0","id":3,"method":"token/get","params":null}"#, .integer(3), "`params`"),
            // An id of a bad type cannot be echoed.
            (#"{"jsonrpc":"2.0","id":null,"method":"broker/info"}"#, nil, "`id`"),
            (#"{"jsonrpc":"2.0","id":1.5,"method":"broker/info"}"#, nil, "`id`"),
            (#"{"jsonrpc":"2.0","id":true,"method":"broker/info"}"#, nil, "`id`"),
            (#"{"jsonrpc":"2.0","id":[1],"method":"broker/info"}"#, nil, "`id`"),
            (#"{"jsonrpc":"2.0","id":{"a":1},"method":"broker/info"}"#, nil, "`id`"),
            (#"{"jsonrpc":"2.0","id":1e30,"method":"broker/info"}"#, nil, "`id`"),
            // A notification that is malformed is still answered, with a null id.
            (#"{"jsonrpc":"2.0","method":5}"#, nil, "`method`"),
        ] as [(String, JSONRPCID?, String)]
    )
    func invalidRequest(line: String, id: JSONRPCID?, mentions: String) {
        let message = ClientMessage(line: bytes(line))
        expectError(message, id: id, code: -32600, reason: "invalid_request")
        if case .invalid(let response) = message {
            #expect(response.error?.message.contains(mentions) == true, "message: \(response.error?.message ?? "")")
        }
    }

    @Test("the error response to a bad line is itself one valid line")
    func errorResponseIsALine() throws {
        guard case .invalid(let response) = ClientMessage(line: bytes("{oops")) else {
            Issue.record("expected an error")
            return
        }
        let body = try #require(lineBody(response.encodedLine()))
        let parsed = try JSONValue(parsing: body)
        #expect(parsed["jsonrpc"] == "2.0")
        #expect(parsed["id"] == .null)
        #expect(parsed["error"]?["code"] == -32700)
        #expect(parsed["error"]?["data"]?["reason"] == "parse_error")
        #expect(parsed["result"] == nil)
    }

    @Test("printing a classified request does not show the rejected token")
    func redactsParams() {
        let line = bytes(#"{"jsonrpc":"2.0","id":1,"method":"token/get","params":{"resource":"https://mcp.example.com/mcp","rejectedToken":"\#(FakeToken.rejected)"}}"#)
        let message = ClientMessage(line: line)
        #expect(!"\(message)".contains(FakeToken.rejected))
        #expect(!String(describing: message).contains(FakeToken.rejected))
        #expect(!String(reflecting: message).contains(FakeToken.rejected))
        var dumped = ""
        dump(message, to: &dumped)
        #expect(!dumped.contains(FakeToken.rejected))
        #expect("\(message)".contains("<redacted>"))
    }

    private func expectError(
        _ message: ClientMessage,
        id: JSONRPCID?,
        code: Int,
        reason: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard case .invalid(let response) = message else {
            Issue.record("expected an error response, got \(message)", sourceLocation: sourceLocation)
            return
        }
        #expect(response.id == id, sourceLocation: sourceLocation)
        #expect(response.error?.code.rawValue == code, sourceLocation: sourceLocation)
        #expect(response.error?.reason.rawValue == reason, sourceLocation: sourceLocation)
        #expect(response.error?.message.isEmpty == false, sourceLocation: sourceLocation)
    }
}
