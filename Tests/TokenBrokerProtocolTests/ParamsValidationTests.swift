import Testing
import TokenBrokerProtocol

@Suite("Params validation messages")
struct ParamsValidationTests {
    @Test(
        "token/get params name the member and the problem",
        arguments: [
            (#"{}"#, "Invalid params: `resource` is required."),
            (#"{"resource": null}"#, "Invalid params: `resource` is required."),
            (#"{"resource": 42}"#, "Invalid params: `resource` must be a string, got a number."),
            (#"{"resource": "https://m.example", "scopes": "files:read"}"#,
             "Invalid params: `scopes` must be an array of strings, got a string."),
            (#"{"resource": "https://m.example", "scopes": ["a", 2]}"#,
             "Invalid params: `scopes[1]` must be a string, got a number."),
            (#"{"resource": "https://m.example", "challenge": ["Bearer"]}"#,
             "Invalid params: `challenge` must be a string, got an array."),
            (#"{"resource": "https://m.example", "status": "403"}"#,
             "Invalid params: `status` must be an integer, got a string."),
            (#"{"resource": "https://m.example", "status": 99}"#,
             "Invalid params: `status` must be between 100 and 599."),
            (#"{"resource": "https://m.example", "rejectedToken": {"t": 1}}"#,
             "Invalid params: `rejectedToken` must be a string, got an object."),
            (#"{"resource": "https://m.example", "minValidSeconds": -1}"#,
             "Invalid params: `minValidSeconds` must be between 0 and 31622400."),
            (#"{"resource": "https://m.example", "minValidSeconds": 31622401}"#,
             "Invalid params: `minValidSeconds` must be between 0 and 31622400."),
            (#"{"resource": "https://m.example", "minValidSeconds": 1.5}"#,
             "Invalid params: `minValidSeconds` must be an integer, got a fractional number."),
            (#"{"resource": "https://m.example", "minValidSeconds": 1e300}"#,
             "Invalid params: `minValidSeconds` must be an integer, got a number out of range."),
            (#"{"resource": "https://m.example", "interactive": "yes"}"#,
             "Invalid params: `interactive` must be true or false, got a string."),
            (#"{"resource": "https://m.example", "interactive": 1}"#,
             "Invalid params: `interactive` must be true or false, got a number."),
            (#"{"resource": "https://m.example", "waitSeconds": -300}"#,
             "Invalid params: `waitSeconds` must be between 0 and 31622400."),
            (#"{"resource": "https://m.example", "waitSeconds": 9223372036854775807}"#,
             "Invalid params: `waitSeconds` must be between 0 and 31622400."),
            (#"{"resource": "https://m.example", "waitSeconds": true}"#,
             "Invalid params: `waitSeconds` must be an integer, got a boolean."),
            (#"{"resource": "https://m.example", "application": false}"#,
             "Invalid params: `application` must be a string, got a boolean."),
            (#"["https://m.example"]"#, "Invalid params: params must be an object, got an array."),
        ]
    )
    func tokenGet(paramsText: String, message: String) throws {
        let params = try json(paramsText)
        #expect {
            try TokenGetParams(params: params)
        } throws: { error in
            guard let error = error as? RPCError else { return false }
            return error.code == .invalidParams && error.reason == .invalidParams && error.message == message
        }
    }

    @Test("absent params read as an empty object")
    func absentParams() {
        #expect(throws: RPCError.invalidParams(WireFormatError(field: "resource", problem: "is required"))) {
            try TokenGetParams(params: nil)
        }
    }

    @Test("zero is a valid minValidSeconds and waitSeconds")
    func zeroIsValid() throws {
        let params = try TokenGetParams(params: json(#"{"resource":"https://m.example","minValidSeconds":0,"waitSeconds":0}"#))
        #expect(params.minValidSeconds == 0 && params.waitSeconds == 0)
    }

    @Test(
        "grants/revoke needs exactly one of resource and all",
        arguments: [
            (#"{}"#, "Invalid params: `resource` is required unless `all` is true."),
            (#"{"all": false}"#, "Invalid params: `resource` is required unless `all` is true."),
            (#"{"resource": "https://m.example", "all": true}"#,
             "Invalid params: `resource` and `all` cannot both be given; revoke one resource or all."),
            (#"{"all": "true"}"#, "Invalid params: `all` must be true or false, got a string."),
            (#"{"resource": 1}"#, "Invalid params: `resource` must be a string, got a number."),
        ]
    )
    func grantsRevoke(paramsText: String, message: String) throws {
        let params = try json(paramsText)
        #expect(throws: RPCError.invalidParams(message: message)) { try GrantsRevokeParams(params: params) }
    }

    @Test("resource with all: false is a single revocation")
    func allFalse() throws {
        #expect(try GrantsRevokeParams(params: json(#"{"resource":"https://m.example","all":false}"#)) == .resource("https://m.example"))
    }

    @Test("messages never repeat a value")
    func messagesDoNotEchoValues() throws {
        let params = try json(#"{"resource":"https://m.example","rejectedToken":"\#(FakeToken.rejected)","minValidSeconds":"\#(FakeToken.access)"}"#)
        #expect {
            try TokenGetParams(params: params)
        } throws: { error in
            let text = "\(error) \(String(reflecting: error))"
            return !text.contains(FakeToken.rejected) && !text.contains(FakeToken.access)
        }
    }

    @Test("nested result members are named by path")
    func nestedPaths() throws {
        let list = try json(#"""
            {"grants": [{"resource": "r", "issuer": "i", "hasAccessToken": true, "hasRefreshToken": false,
                         "updatedAt": "2026-11-22T12:00:00Z",
                         "pendingAuthorization": {"authorizationUrl": "u", "startedAt": "yesterday"}}]}
            """#)
        #expect(throws: WireFormatError(field: "grants[0].pendingAuthorization.startedAt", problem: "must be a UTC timestamp such as 2026-11-22T12:00:00Z")) {
            try GrantsListResult(jsonValue: list)
        }
        let revoke = try json(#"{"revoked": [{"resource": "r", "remote": "revoked"}, {"remote": "failed"}]}"#)
        #expect(throws: WireFormatError(field: "revoked[1].resource", problem: "is required")) {
            try GrantsRevokeResult(jsonValue: revoke)
        }
    }
}
