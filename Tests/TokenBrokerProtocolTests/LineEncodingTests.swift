import Foundation
import Testing
import TokenBrokerProtocol

@Suite("Encoding outbound messages as lines")
struct LineEncodingTests {
    static let awkwardText = "line one\nline two\r\nthree\u{2028}four\t\"quoted\" \\ é😀"

    @Test("a success response is one line with the result")
    func successResponse() throws {
        let response = JSONRPCResponse(id: 1, outcome: .success(["note": .string(Self.awkwardText)]))
        let line = response.encodedLine()
        let body = try #require(lineBody(line))
        #expect(!body.contains(UInt8(ascii: "\r")))
        #expect(try JSONValue(parsing: body) == json(#"{"jsonrpc":"2.0","id":1,"result":{"note":"line one\nline two\r\nthree\#u{2028}four\t\"quoted\" \\ é😀"}}"#))
    }

    /// The cache hit's answer is written directly: byte for byte the generic encoding.
    @Test(
        "token/get's direct answer is the generic encoding",
        arguments: [
            (JSONRPCID.integer(1), TokenGetResult(
                accessToken: AccessToken("at-1"), expiresAt: Date(timeIntervalSince1970: 1_800_000_000), scopes: ["files:read"],
                resource: "https://mcp.example.com/mcp", issuer: "https://as.example.com")),
            (JSONRPCID.integer(-7), TokenGetResult(
                accessToken: AccessToken("a\"b\\c\u{1}"), tokenType: "DPoP", expiresAt: nil, scopes: [],
                resource: "https://mcp.example.com", issuer: "https://as.example.com/tenant")),
            (JSONRPCID.string("r-\"1\"\n"), TokenGetResult(
                accessToken: AccessToken(Self.awkwardText), expiresAt: Date(timeIntervalSince1970: 0), scopes: ["a", "b:c", "é"],
                resource: "http://127.0.0.1:8080/mcp?x=1", issuer: "http://127.0.0.1:9000")),
        ]
    )
    func directTokenAnswer(id: JSONRPCID, result: TokenGetResult) {
        let generic = JSONRPCResponse(id: id, result: result).encodedLine()
        #expect(result.encodedResponseLine(id: id) == generic)
    }

    @Test("envelope members come first, in a fixed order")
    func envelopeOrder() {
        let request = JSONRPCRequest(id: "r1", method: .grantsRevoke, params: ["all": true])
        #expect(String(decoding: request.encodedLine(), as: UTF8.self) == #"{"jsonrpc":"2.0","id":"r1","method":"grants/revoke","params":{"all":true}}"# + "\n")
        let notification = JSONRPCNotification(method: .authorizationPending)
        #expect(String(decoding: notification.encodedLine(), as: UTF8.self) == #"{"jsonrpc":"2.0","method":"authorization/pending"}"# + "\n")
    }

    @Test("an error response carries the error object and a null id when unknown")
    func errorResponse() throws {
        let error = RPCError(reason: .authorizationFailed, message: "Sign-in was refused:\nsee the browser.", oauthError: "access_denied")
        let line = JSONRPCResponse(id: nil, error: error).encodedLine()
        let body = try #require(lineBody(line))
        #expect(try JSONValue(parsing: body) == json(#"""
            {"jsonrpc":"2.0","id":null,"error":{"code":-32002,"message":"Sign-in was refused:\nsee the browser.",
             "data":{"reason":"authorization_failed","error":"access_denied"}}}
            """#))
    }

    @Test("a notification is one line")
    func notificationLine() throws {
        let params = AuthorizationPendingParams(
            resource: "https://mcp.example.com/mcp\nspoofed",
            authorizationURL: "https://auth.example.com/authorize?state=abc",
            scopes: ["files:read"]
        )
        let body = try #require(lineBody(JSONRPCNotification.authorizationPending(params).encodedLine()))
        #expect(try JSONValue(parsing: body) == json(#"""
            {"jsonrpc":"2.0","method":"authorization/pending","params":{"resource":"https://mcp.example.com/mcp\nspoofed",
             "authorizationUrl":"https://auth.example.com/authorize?state=abc","scopes":["files:read"]}}
            """#))
    }

    @Test("a request with typed params round-trips through the classifier")
    func requestRoundTrip() throws {
        let params = TokenGetParams(resource: "https://mcp.example.com/mcp", scopes: ["a b", "c\nd"], application: "multi\nline")
        let request = JSONRPCRequest(id: 99, method: .tokenGet, params: params)
        let body = try #require(lineBody(request.encodedLine()))
        guard case .request(let read) = ClientMessage(line: body) else {
            Issue.record("not a request")
            return
        }
        #expect(read == request)
        #expect(try TokenGetParams(params: read.params) == params)
    }

    @Test("a client reads responses and notifications back")
    func brokerMessages() throws {
        let response = JSONRPCResponse(id: 5, result: GrantsRevokeResult(revoked: []))
        #expect(try BrokerMessage(line: #require(lineBody(response.encodedLine()))) == .response(response))
        let failure = JSONRPCResponse(id: "x", error: .methodNotFound("nope"))
        #expect(try BrokerMessage(line: #require(lineBody(failure.encodedLine()))) == .response(failure))
        let unreadable = JSONRPCResponse(id: nil, error: .batchNotSupported)
        #expect(try BrokerMessage(line: #require(lineBody(unreadable.encodedLine()))) == .response(unreadable))
        let notification = JSONRPCNotification.authorizationPending(
            AuthorizationPendingParams(resource: "https://a.example", authorizationURL: "https://b.example/authorize", scopes: [])
        )
        #expect(try BrokerMessage(line: #require(lineBody(notification.encodedLine()))) == .notification(notification))
    }

    @Test(
        "a client refuses lines that are not responses or notifications",
        arguments: [
            "nope", #"{"jsonrpc":"2.0","id":1}"#, #"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"x"}}"#,
            #"{"id":1,"result":{}}"#, #"{"jsonrpc":"2.0","result":{}}"#, #"{"jsonrpc":"2.0","id":true,"result":{}}"#,
            #"{"jsonrpc":"2.0","id":1,"error":{"message":"no code"}}"#,
        ]
    )
    func brokerMessageErrors(line: String) {
        #expect(throws: WireFormatError.self) { try BrokerMessage(line: bytes(line)) }
    }
}
