import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerProtocol
@testable import TokenBrokerServer
import TokenBrokerTestKit

/// `token/get` with `exactScopes`: a token of only the named scopes, from a refresh with
/// `scope` (RFC 6749 §6); the grant keeps the union, and a server that will not narrow is
/// a clear `scope_unattainable`.
@Suite(.timeLimit(.minutes(2))) struct ExactScopeTokenTests {
    static func exact(_ s: Scenario, _ scopes: [String]) async throws -> BrokerTestClient.Reply {
        try await s.client.call(
            .tokenGet,
            .object(["resource": .string(s.fake.resource), "scopes": .array(scopes.map(JSONValue.string)), "exactScopes": true]))
    }

    @Test func aTokenOfExactlyTheNamedScopes() async throws {
        try await Scenario.run { s in
            let union = try await s.client.token(s.fake.resource, scopes: ["files:read", "files:write"]).tokenResult()
            let narrow = try await Self.exact(s, ["files:read"]).tokenResult()
            #expect(narrow.scopes == ["files:read"])
            #expect(narrow.accessToken != union.accessToken)
            let refresh = try #require(s.fake.tokenRequests(grantType: "refresh_token").only)
            #expect(refresh[field: "scope"] == "files:read")
            #expect(refresh[field: "resource"] == s.fake.resource)
            // Held: asked again, no new refresh.
            #expect(try await Self.exact(s, ["files:read"]).tokenResult().accessToken == narrow.accessToken)
            #expect(s.fake.tokenRequests(grantType: "refresh_token").count == 1)
            // The grant keeps the union, and its token is what a plain request gets.
            let plain = try await s.client.token(s.fake.resource, scopes: ["files:read"]).tokenResult()
            #expect(Set(plain.scopes) == ["files:read", "files:write"])
            let listed = try #require(try await s.grants().grants.only)
            #expect(Set(listed.grantedScopes) == ["files:read", "files:write"])
            // The rotated refresh token was kept: a later plain refresh still works, for the union.
            s.clock.advance(7200)
            let renewed = try await s.client.token(s.fake.resource, scopes: ["files:write"]).tokenResult()
            #expect(Set(renewed.scopes) == ["files:read", "files:write"])
            #expect(s.browser.openedURLs.count == 1)
        }
    }

    @Test func aServerThatWillNotNarrowIsAClearError() async throws {
        try await Scenario.run({ $0.refuseNarrowing = true }) { s in
            _ = try await s.client.token(s.fake.resource, scopes: ["files:read", "files:write"]).tokenResult()
            let reply = try await Self.exact(s, ["files:read"])
            #expect(reply.reason == "scope_unattainable")
            #expect(reply.response.error?.message.contains("invalid_scope") == true)
            // The grant is intact.
            _ = try await s.client.token(s.fake.resource, scopes: ["files:write"]).tokenResult()
            #expect(s.browser.openedURLs.count == 1)
        }
    }

    @Test func exactScopesNeedScopes() async throws {
        try await Scenario.run { s in
            let reply = try await Self.exact(s, [])
            #expect(reply.reason == "invalid_params")
        }
    }
}
