import Testing
import TokenBrokerProtocol

@Suite("Error codes, reasons and error objects")
struct RPCErrorTests {
    @Test(
        "the contract's table",
        arguments: [
            (RPCErrorReason.parseError, "parse_error", -32700),
            (.invalidRequest, "invalid_request", -32600),
            (.methodNotFound, "method_not_found", -32601),
            (.invalidParams, "invalid_params", -32602),
            (.authorizationRequired, "authorization_required", -32001),
            (.authorizationFailed, "authorization_failed", -32002),
            (.discoveryFailed, "discovery_failed", -32003),
            (.upstreamUnavailable, "upstream_unavailable", -32004),
            (.scopeUnattainable, "scope_unattainable", -32005),
            (.internalError, "internal_error", -32603),
        ]
    )
    func table(reason: RPCErrorReason, string: String, code: Int) {
        #expect(reason.rawValue == string)
        #expect(reason.code == RPCErrorCode(rawValue: code))
        #expect(RPCErrorReason(code: RPCErrorCode(rawValue: code)) == reason)
        #expect(RPCError(reason: reason, message: "m").code.rawValue == code)
    }

    @Test("the table has ten distinct reasons and codes")
    func tableIsOneToOne() {
        let table = RPCErrorReason.contractTable
        #expect(table.count == 10)
        #expect(Set(table.map(\.reason)).count == 10)
        #expect(Set(table.map(\.code)).count == 10)
    }

    @Test(
        "error objects round-trip",
        arguments: [
            RPCError(reason: .authorizationRequired, message: "Sign in first.", authorizationURL: "https://auth.example.com/authorize?state=s"),
            RPCError(reason: .authorizationFailed, message: "Refused.", oauthError: "access_denied"),
            RPCError(reason: .upstreamUnavailable, message: "The authorization server answered 503; try again later."),
            RPCError(code: RPCErrorCode(rawValue: -32099), reason: RPCErrorReason(rawValue: "future_reason"), message: "New."),
            .internalError, .batchNotSupported, .lineTooLong, .methodNotFound("tools/call"),
        ]
    )
    func roundTrip(error: RPCError) throws {
        #expect(try RPCError(jsonValue: error.jsonValue) == error)
    }

    @Test("the exact shape of an error object")
    func shape() throws {
        let error = RPCError(
            reason: .authorizationRequired,
            message: "A person must sign in; open the URL.",
            authorizationURL: "https://auth.example.com/authorize?client_id=c"
        )
        #expect(error.jsonValue == (try json(#"""
            {"code": -32001, "message": "A person must sign in; open the URL.",
             "data": {"reason": "authorization_required", "authorizationUrl": "https://auth.example.com/authorize?client_id=c"}}
            """#)))
    }

    @Test("a reason missing from data is taken from the code")
    func reasonFromCode() throws {
        #expect(try RPCError(jsonValue: json(#"{"code": -32601, "message": "x"}"#)).reason == .methodNotFound)
        #expect(try RPCError(jsonValue: json(#"{"code": -1, "message": "x"}"#)).reason == .internalError)
        #expect(try RPCError(jsonValue: json(#"{"code": -32601, "message": "x", "data": {"reason": "other"}}"#)).reason.rawValue == "other")
    }

    @Test("an unknown reason keeps working: it is a value, not a case")
    func unknownReason() {
        let reason = RPCErrorReason(rawValue: "quota_exceeded")
        #expect(reason.code == nil)
        #expect(RPCError(reason: reason, message: "x").code == .internalError)
    }

    @Test("method_not_found names a short method and leaves out a long one")
    func methodNotFoundMessage() {
        #expect(RPCError.methodNotFound("tokens/get").message.contains("`tokens/get`"))
        let long = String(repeating: "x", count: 500)
        #expect(!RPCError.methodNotFound(BrokerMethod(rawValue: long)).message.contains(long))
        #expect(RPCError.methodNotFound("x").message.contains("token/get"))
    }

    @Test("lineTooLong is invalid_request")
    func lineTooLong() {
        #expect(RPCError.lineTooLong.code == .invalidRequest)
        #expect(RPCError.lineTooLong.reason == .invalidRequest)
    }
}
