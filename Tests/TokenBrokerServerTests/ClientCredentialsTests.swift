import Crypto
import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerProtocol
@testable import TokenBrokerServer
import TokenBrokerTestKit

/// Client credentials (MCP extension `io.modelcontextprotocol/oauth-client-credentials`):
/// a `[[client]]` with `grant_type = "client_credentials"` gets its resource's tokens from
/// the token endpoint, renews by asking again, and never opens a browser or registers.
@Suite(.timeLimit(.minutes(2))) struct ClientCredentialsTests {
    static let read = "files:read"
    static let clientID = "ci-runner"
    static let secret = "cc-SECRET-basic"

    static func client(_ fake: FakeOAuthServer, resources: [ResourceURI] = []) -> [PreregisteredClient] {
        [
            PreregisteredClient(
                issuer: fake.issuer,
                credentials: ClientCredentials(clientID: clientID, clientSecret: Secret(secret), authenticationMethod: .clientSecretBasic),
                grantType: .clientCredentials, resources: resources)
        ]
    }

    static func configure(_ behaviour: inout FakeOAuthServer.Behaviour) {
        behaviour.clientCredentialsClients = [clientID: secret]
        behaviour.issueRefreshToken = false
        behaviour.asScopesSupported = ["files:read", "files:write", "offline_access"]
    }

    @Test func tokensComeFromTheTokenEndpointWithoutAPerson() async throws {
        try await Scenario.run(Self.configure, preregistered: { Self.client($0) }) { s in
            // Not interactive: nobody is needed.
            let token = try await s.client.token(s.fake.resource, scopes: [Self.read], interactive: false).tokenResult()
            #expect(token.scopes == [Self.read])
            let request = try #require(s.fake.tokenRequests(grantType: "client_credentials").only)
            #expect(request[field: "scope"] == Self.read)  // no offline_access: nobody stays signed in
            #expect(request[field: "resource"] == s.fake.resource)
            #expect(request.header("authorization")?.hasPrefix("Basic ") == true)
            #expect(s.fake.requests(to: "/authorize").isEmpty)
            #expect(s.fake.requests(to: "/register").isEmpty)
            #expect(s.browser.openedURLs.isEmpty)
            let grant = try #require(try await s.grants().grants.only)
            #expect(grant.clientID == Self.clientID)

            // Held, then renewed by asking again once it expires, for the same scopes.
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(s.fake.tokenRequests(grantType: "client_credentials").count == 1)
            s.clock.advance(7200)
            let renewed = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(renewed.accessToken != token.accessToken)
            #expect(s.fake.tokenRequests(grantType: "client_credentials").count == 2)
            #expect(s.fake.tokenRequests(grantType: "client_credentials").last?[field: "scope"] == Self.read)
            #expect(s.browser.openedURLs.isEmpty)
        }
    }

    /// A 403 step-up asks the token endpoint for the union (SEP-2350), not a person.
    /// An authorization server for machines (no authorization endpoint, no PKCE) serves
    /// its client-credentials clients; a browser sign-in there is refused, naming why,
    /// without registering or opening anything (it was once refused at discovery).
    @Test func aServerWithoutTheAuthorizationCodeFlowServesClientCredentials() async throws {
        func machinesOnly(_ behaviour: inout FakeOAuthServer.Behaviour) {
            Self.configure(&behaviour)
            behaviour.authorizationCodeEnabled = false
            behaviour.codeChallengeMethods = nil
        }
        try await Scenario.run(machinesOnly, preregistered: { Self.client($0) }) { s in
            let token = try await s.client.token(s.fake.resource, scopes: [Self.read], interactive: false).tokenResult()
            #expect(token.scopes == [Self.read])
            #expect(s.fake.tokenRequests(grantType: "client_credentials").count == 1)
        }
        // The same server, with the client named for another resource: this one needs a person.
        try await Scenario.run(
            machinesOnly,
            preregistered: { fake in Self.client(fake, resources: [try! ResourceURI("https://elsewhere.example/mcp", policy: .strict)]) }
        ) { s in
            let refused = try await s.client.token(s.fake.resource, scopes: [Self.read])
            #expect(refused.reason == "discovery_failed")
            #expect(refused.response.error?.message.contains("S256") == true)
            #expect(s.fake.requests(to: "/register").isEmpty)
            #expect(s.browser.openedURLs.isEmpty)
        }
    }

    /// `exactScopes` with a client credentials client: the client asks for exactly those
    /// scopes (it has no refresh token to narrow with); the token is held, and the grant
    /// keeps the union and its own token (it once failed with scope_unattainable).
    @Test func anExactScopeTokenIsAskedForAsTheClient() async throws {
        try await Scenario.run(Self.configure, preregistered: { Self.client($0) }) { s in
            let union = try await s.client.token(s.fake.resource, scopes: ["files:read", "files:write"]).tokenResult()
            let exact = try await s.client.call(
                .tokenGet,
                .object(["resource": .string(s.fake.resource), "scopes": ["files:read"], "exactScopes": true])
            ).tokenResult()
            #expect(exact.scopes == [Self.read])
            #expect(exact.accessToken != union.accessToken)
            #expect(s.fake.tokenRequests(grantType: "client_credentials").last?[field: "scope"] == Self.read)
            // Held: asked once.
            let again = try await s.client.call(
                .tokenGet,
                .object(["resource": .string(s.fake.resource), "scopes": ["files:read"], "exactScopes": true])
            ).tokenResult()
            #expect(again.accessToken == exact.accessToken)
            #expect(s.fake.tokenRequests(grantType: "client_credentials").count == 2)
            let plain = try await s.client.token(s.fake.resource, scopes: ["files:read"]).tokenResult()
            #expect(plain.accessToken == union.accessToken)
            #expect(s.browser.openedURLs.isEmpty)
        }
    }

    @Test func aStepUpAsksTheTokenEndpointForTheUnion() async throws {
        try await Scenario.run(Self.configure, preregistered: { Self.client($0) }) { s in
            let first = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let stepped = try await s.client.token(
                s.fake.resource, challenge: #"Bearer error="insufficient_scope", scope="files:write""#, status: 403,
                rejectedToken: first.accessToken.exposedValue
            ).tokenResult()
            #expect(Set(stepped.scopes) == ["files:read", "files:write"])
            #expect(s.fake.tokenRequests(grantType: "client_credentials").last?[field: "scope"] == "files:read files:write")
            #expect(s.browser.openedURLs.isEmpty)
        }
    }

    /// A client the server refuses is a clear error naming the config; nothing is opened,
    /// and the configured client stays (the operator fixes it).
    @Test func aRefusedClientIsAClearError() async throws {
        try await Scenario.run(
            {
                Self.configure(&$0)
                $0.clientCredentialsClients = [Self.clientID: "another secret"]
            }, preregistered: { Self.client($0) }
        ) { s in
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read])
            #expect(reply.reason == "authorization_failed")
            let message = reply.response.error?.message ?? ""
            #expect(message.contains("[[client]]"))
            #expect(!message.contains(Self.secret))
            #expect(s.browser.openedURLs.isEmpty)
            #expect(s.fake.requests(to: "/authorize").isEmpty)
        }
    }

    /// A client named for one resource leaves the issuer's other resources to sign-ins.
    @Test func aClientForOneResourceLeavesTheOthersAlone() async throws {
        try await Scenario.run(
            Self.configure,
            preregistered: { fake in Self.client(fake, resources: [try! ResourceURI("https://elsewhere.example/mcp", policy: .strict)]) }
        ) { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(s.fake.tokenRequests(grantType: "client_credentials").isEmpty)
            #expect(s.fake.tokenRequests(grantType: "authorization_code").count == 1)
            #expect(s.browser.openedURLs.count == 1)
        }
    }

    /// private_key_jwt: a signed assertion instead of a secret, nothing secret in the form.
    @Test func aKeyAuthenticatesWithASignedAssertion() async throws {
        let key = P256.Signing.PrivateKey()
        let pem = key.pemRepresentation
        try await Scenario.run(
            Self.configure,
            preregistered: { fake in
                [
                    PreregisteredClient(
                        issuer: fake.issuer,
                        credentials: ClientCredentials(
                            clientID: Self.clientID,
                            assertionKey: ClientAssertionKey(key: try! ClientSigningKey(pem: pem), audience: fake.issuer)),
                        grantType: .clientCredentials)
                ]
            }
        ) { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let request = try #require(s.fake.tokenRequests(grantType: "client_credentials").only)
            #expect(request[field: "client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            let parts = try #require(request[field: "client_assertion"]).split(separator: ".").map(String.init)
            try #require(parts.count == 3)
            let signatureBytes = try #require(base64URLDecoded(parts[2]))
            let signature = try P256.Signing.ECDSASignature(rawRepresentation: signatureBytes)
            #expect(key.publicKey.isValidSignature(signature, for: Data((parts[0] + "." + parts[1]).utf8)))
            let claimBytes = try #require(base64URLDecoded(parts[1]))
            let claims = try #require(try JSONSerialization.jsonObject(with: claimBytes) as? [String: Any])
            #expect(claims["iss"] as? String == Self.clientID)
            #expect(claims["sub"] as? String == Self.clientID)
            #expect(claims["aud"] as? String == s.fake.issuer)
            #expect(request[field: "client_secret"] == nil)
            #expect(request.header("authorization") == nil)
        }
    }
}

/// Base64url without padding (RFC 7515 §2), decoded.
func base64URLDecoded(_ text: String) -> Data? {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base64.count % 4 != 0 { base64 += "=" }
    return Data(base64Encoded: base64)
}
