import Testing
import TokenBrokerProtocol

@Suite("Tokens stay out of printouts")
struct RedactionTests {
    static let result = TokenGetResult(
        accessToken: AccessToken(FakeToken.access),
        expiresAt: nil,
        scopes: ["files:read"],
        resource: "https://mcp.example.com/mcp",
        issuer: "https://auth.example.com"
    )
    static let params = TokenGetParams(
        resource: "https://mcp.example.com/mcp",
        challenge: "Bearer error=\"invalid_token\"",
        status: 401,
        rejectedToken: AccessToken(FakeToken.rejected)
    )

    private func printouts(_ value: Any) -> [String] {
        var dumped = ""
        dump(value, to: &dumped)
        var printed = ""
        print(value, to: &printed)
        var debugPrinted = ""
        debugPrint(value, to: &debugPrinted)
        return ["\(value)", String(describing: value), String(reflecting: value), dumped, printed, debugPrinted]
    }

    @Test("the wrapper itself")
    func wrapper() {
        for text in printouts(AccessToken(FakeToken.access)) {
            #expect(!text.contains(FakeToken.access))
            #expect(text.contains("<redacted>"))
        }
    }

    @Test("types holding a token, and the messages carrying them")
    func holders() throws {
        let response = JSONRPCResponse(id: 1, result: Self.result)
        let request = JSONRPCRequest(id: 2, method: .tokenGet, params: Self.params)
        let values: [Any] = [
            Self.result, Self.params, Self.result.jsonValue, Self.params.jsonValue, response, request,
            try BrokerMessage(line: response.encodedLine().dropLast()), ClientMessage(line: request.encodedLine().dropLast()),
            Optional(Self.result) as Any, [Self.params],
        ]
        for value in values {
            for text in printouts(value) {
                #expect(!text.contains(FakeToken.access), "leaked in: \(text)")
                #expect(!text.contains(FakeToken.rejected), "leaked in: \(text)")
            }
        }
    }

    @Test("the wire form still carries the token")
    func wireKeepsToken() {
        #expect(String(decoding: JSONRPCResponse(id: 1, result: Self.result).encodedLine(), as: UTF8.self).contains(FakeToken.access))
        #expect(Self.params.jsonValue.serializedString.contains(FakeToken.rejected))
    }

    @Test("a null token member is not reported as redacted")
    func nullMember() {
        let value: JSONValue = ["accessToken": nil]
        #expect(value.description == #"{"accessToken":null}"#)
    }
}
