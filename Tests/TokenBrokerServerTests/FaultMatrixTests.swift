import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerProtocol
@testable import TokenBrokerServer
import TokenBrokerTestKit

/// What each way an authorization server can fail a refresh comes to: the contract's
/// error, and the stored grant kept where a later try can work (then it does, without a
/// sign-in) or forgotten where the tokens are dead (then a sign-in is asked for).
@Suite(.timeLimit(.minutes(2))) struct FaultMatrixTests {
    enum Fault: String, CaseIterable, CustomTestStringConvertible {
        case serverError500, unavailable503, noAnswerWithinTheDeadline, truncatedJSON, htmlPage, noAccessToken
        case redirect, htmlErrorPage, invalidRequest, invalidGrant, invalidClient

        var testDescription: String { rawValue }

        /// The error a client gets, and whether the grant's refresh token is kept.
        var expected: (reason: String, kept: Bool) {
            switch self {
            case .serverError500, .unavailable503, .noAnswerWithinTheDeadline, .truncatedJSON, .htmlPage, .noAccessToken, .redirect:
                ("upstream_unavailable", true)
            case .htmlErrorPage, .invalidRequest:
                ("authorization_failed", true)
            case .invalidGrant, .invalidClient:
                ("authorization_required", false)
            }
        }

        func apply(_ behaviour: inout FakeOAuthServer.Behaviour, gate: Gate, origin: String) {
            switch self {
            case .serverError500: behaviour.refreshFault = .status(500)
            case .unavailable503: behaviour.refreshFault = .body(503, "<html>maintenance</html>")
            case .noAnswerWithinTheDeadline:
                behaviour.tokenGate = gate
                // The abandoned request is answered once the gate opens: a server that rotated
                // the token then has ended the grant, which no client can prevent (a grace
                // period for the old token, RFC 9700 §4.14.2, is the server's remedy).
                behaviour.rotateRefreshTokens = false
            case .truncatedJSON: behaviour.refreshFault = .body(200, #"{"access_token": "at-cut", "token_ty"#)
            case .htmlPage: behaviour.refreshFault = .body(200, "<html><body>Sign in</body></html>")
            case .noAccessToken: behaviour.refreshFault = .body(200, #"{"token_type": "Bearer", "expires_in": 3600}"#)
            case .redirect: behaviour.refreshFault = .redirect(origin + "/login")
            case .htmlErrorPage: behaviour.refreshFault = .body(400, "<html>Bad Request</html>")
            case .invalidRequest: behaviour.refreshFault = .oauthError("invalid_request")
            case .invalidGrant: behaviour.refreshFault = .oauthError("invalid_grant")
            case .invalidClient: behaviour.refreshFault = .body(401, #"{"error": "invalid_client"}"#)
            }
        }
    }

    @Test(arguments: Fault.allCases)
    func aFailedRefresh(_ fault: Fault) async throws {
        let gate = Gate()
        defer { gate.open() }
        // A short deadline only where it is the fault: it bounds discovery too.
        try await Scenario.run(exchangeDeadline: fault == .noAnswerWithinTheDeadline ? 5 : 30) { s in
            let first = try await s.client.token(s.fake.resource, scopes: ["files:read"]).tokenResult()
            s.fake.update { fault.apply(&$0, gate: gate, origin: s.fake.origin) }
            s.clock.advance(7200)
            let reply = try await s.client.token(s.fake.resource, scopes: ["files:read"], interactive: false)
            #expect(reply.reason == fault.expected.reason, "\(reply.response.error?.message ?? "")")
            // The message is a sentence, never a token.
            let message = reply.response.error?.message ?? ""
            #expect(!message.isEmpty)
            #expect(!message.contains("SECRET"))
            let grant = try #require(try await s.grants().grants.only)
            #expect(grant.hasRefreshToken == fault.expected.kept)
            #expect(Set(grant.grantedScopes) == ["files:read"])  // scope history stays either way

            // The server recovers.
            gate.open()
            s.fake.update {
                $0.refreshFault = nil
                $0.tokenGate = nil
            }
            let after = try await s.client.token(s.fake.resource, scopes: ["files:read"], interactive: false)
            if fault.expected.kept {
                let token = try after.tokenResult()
                #expect(token.accessToken != first.accessToken)
                #expect(s.browser.openedURLs.count == 1)  // no second sign-in
            } else {
                #expect(after.reason == "authorization_required")
            }
            // The daemon serves everyone else throughout.
            let info = try await s.client.call(.brokerInfo)
            #expect(info.response.error == nil)
        }
    }
}
