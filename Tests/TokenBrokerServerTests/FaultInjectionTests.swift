import Foundation
import NIOCore
import NIOPosix
import Logging
import Synchronization
import Testing
import TokenBrokerCore
import TokenBrokerProtocol
@testable import TokenBrokerServer
import TokenBrokerStorage
import TokenBrokerTestKit

/// tokenbrokerd against a fake authorization + resource server whose behaviour each
/// test sets: the cases a real server cannot be made to do on demand. Nothing sleeps;
/// tests wait on recorded events and move a manual clock. The time limit only keeps a
/// broken daemon from hanging the run.
@Suite(.timeLimit(.minutes(2)))
struct FaultInjectionTests {
    static let read = "files:read"
    static let write = "files:write"

    // MARK: - The wire of a sign-in and a refresh

    /// PKCE S256 verifier matches its challenge, `state` round-trips, `resource` is the
    /// same string on authorize, code exchange and refresh, and a refresh sends no `scope`.
    @Test func signInAndRefreshSendWhatTheSpecRequires() async throws {
        try await Scenario.run { s in
            let first = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            s.clock.advance(7200)
            let renewed = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(renewed.accessToken != first.accessToken)

            let authorize = try #require(s.fake.requests(to: "/authorize").only)
            let exchange = try #require(s.fake.tokenRequests(grantType: "authorization_code").only)
            let refresh = try #require(s.fake.tokenRequests(grantType: "refresh_token").only)
            let registration = try #require(s.fake.requests(to: "/register").only)

            #expect(authorize[field: "response_type"] == "code")
            #expect(authorize[field: "code_challenge_method"] == "S256")
            let verifier = try #require(exchange[field: "code_verifier"])
            #expect(PKCECheck.challenge(for: verifier) == authorize[field: "code_challenge"])
            #expect((43...128).contains(verifier.utf8.count))
            #expect(authorize[field: "state"].map { !$0.isEmpty } == true)
            #expect(authorize[field: "scope"] == Self.read)
            #expect(authorize[field: "redirect_uri"] == exchange[field: "redirect_uri"])
            #expect(authorize[field: "redirect_uri"]?.hasPrefix("http://127.0.0.1:") == true)

            #expect(authorize[field: "resource"] == s.fake.resource)
            #expect(exchange.all("resource") == [s.fake.resource])
            #expect(refresh.all("resource") == [s.fake.resource])
            #expect(refresh[field: "scope"] == nil)
            #expect(refresh[field: "refresh_token"] == s.fake.tokenExchanges(grantType: "authorization_code").first?.member("refresh_token"))

            let clientID = try #require(s.fake.exchanges.items.first { $0.request.path == "/register" }?.member("client_id"))
            #expect(authorize[field: "client_id"] == clientID)
            #expect(exchange[field: "client_id"] == clientID)
            #expect(refresh[field: "client_id"] == clientID)
            #expect(registration.body.contains(#""application_type":"native""#))
            #expect(first.resource == s.fake.resource)
            #expect(first.issuer == s.fake.issuer)
        }
    }

    /// Two clients asking at once before anything is registered: one registration, one
    /// sign-in, the same token for both. (A second registration replaced the first in the
    /// store, so a later step-up ran under another client and lost the MCP session.)
    @Test func clientsAskingAtOnceShareOneRegistration() async throws {
        try await Scenario.run { s in
            async let first = s.client.token(s.fake.resource, scopes: [Self.read])
            async let second = s.client.token(s.fake.resource, scopes: [Self.read])
            let tokens = try await [first.tokenResult(), second.tokenResult()]
            #expect(tokens[0].accessToken == tokens[1].accessToken)
            #expect(s.fake.requests(to: "/register").count == 1)
            #expect(s.fake.requests(to: "/authorize").count == 1)
        }
    }

    // MARK: - 1. Scope in the token response

    @Test func tokenResponseWithoutScopeGrantsWhatWasRequested() async throws {
        try await Scenario.run({ $0.scopeMode = .omit }) { s in
            let token = try await s.client.token(s.fake.resource, scopes: [Self.read, Self.write]).tokenResult()
            #expect(s.fake.tokenExchanges(grantType: "authorization_code").only?.member("scope") == nil)
            #expect(token.scopes == [Self.read, Self.write])
            #expect(try await s.grants().grants.only?.grantedScopes == [Self.read, Self.write])

            // A client needing only files:write is served from the same grant.
            let writer = try await s.client.token(s.fake.resource, scopes: [Self.write]).tokenResult()
            #expect(writer.accessToken == token.accessToken)
            #expect(s.browser.openedURLs.count == 1)
        }
    }

    @Test func narrowedScopeIsFinalWithoutANewSignIn() async throws {
        try await Scenario.run({ $0.scopeMode = .narrow(removing: [Self.write]) }) { s in
            let token = try await s.client.token(s.fake.resource, scopes: [Self.read, Self.write]).tokenResult()
            #expect(s.fake.requests(to: "/authorize").only?[field: "scope"] == "\(Self.read) \(Self.write)")
            #expect(token.scopes == [Self.read])

            let refused = try await s.client.token(s.fake.resource, scopes: [Self.write])
            #expect(refused.reason == "scope_unattainable")
            #expect(refused.response.error?.code == .scopeUnattainable)
            #expect(s.fake.requests(to: "/authorize").count == 1)
            #expect(s.browser.openedURLs.count == 1)

            // What was granted is still served.
            let reader = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(reader.accessToken == token.accessToken)
        }
    }

    /// A server that refuses every token for yet another scope: requests without a
    /// challenge in between, each on its own connection (another client, or a headers
    /// helper that connects anew each time), show no successful use, so the browser opens
    /// three times at most.
    @Test func otherConnectionsDoNotExtendAStepUpLoop() async throws {
        try await Scenario.run { s in
            var token = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            var refusals: [String?] = []
            for round in 0..<5 {
                _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
                _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
                let reply = try await s.client.token(
                    s.fake.resource, challenge: #"Bearer error="insufficient_scope", scope="extra\#(round)""#, status: 403,
                    rejectedToken: token.accessToken.exposedValue)
                refusals.append(reply.reason)
                if reply.reason == nil { token = try reply.tokenResult() }
            }
            #expect(s.browser.openedURLs.count == StepUpLedger.maximumAuthorizations)
            #expect(refusals == [nil, nil, "scope_unattainable", "scope_unattainable", "scope_unattainable"])
        }
    }

    /// A server of MCP's 2025-03-26 revision: no protected resource metadata, its
    /// authorization server at its own origin (with metadata there, or none at all and the
    /// default endpoints). The sign-in and a refresh work, also after a restart.
    @Test(arguments: [true, false])
    func aServerOfThe20250326Revision(asMetadata: Bool) async throws {
        try await Scenario.run({
            $0.prmEnabled = false
            $0.asMetadataEnabled = asMetadata
        }) { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let authorize = try #require(s.fake.requests(to: "/authorize").only)
            #expect(authorize[field: "resource"] == s.fake.resource)
            #expect(authorize[field: "code_challenge_method"] == "S256")
            #expect(s.fake.requests(to: "/register").count == 1)
            #expect(try await s.grants().grants.only?.issuer == s.fake.issuer)
            try await s.restart()
            s.clock.advance(7200)
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(s.fake.tokenExchanges(grantType: "refresh_token").only?.status == 200)
            #expect(s.fake.requests(to: "/authorize").count == 1)
        }
    }

    /// Protected resource metadata that exists but does not validate is refused, and a
    /// server failing to answer for it is not taken for a 2025-03-26 server: neither is
    /// passed over for the fallback.
    @Test(arguments: [false, true])
    func metadataThatFailsIsNotReplacedByTheFallback(serverError: Bool) async throws {
        try await Scenario.run({
            if serverError {
                $0.prmFailureStatus = 503
                $0.asMetadataEnabled = false
            } else {
                $0.prmResource = "https://elsewhere.example/mcp"
            }
        }) { s in
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read])
            #expect(reply.reason == (serverError ? "upstream_unavailable" : "discovery_failed"))
            #expect(s.fake.requests(to: "/authorize").isEmpty && s.fake.requests(to: "/register").isEmpty)
        }
    }

    // MARK: - 2. Rotation

    @Test func rotatedRefreshTokenIsUsedNextAndSurvivesARestart() async throws {
        try await Scenario.run { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let rt1 = try #require(s.fake.tokenExchanges(grantType: "authorization_code").only?.member("refresh_token"))

            s.clock.advance(7200)
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            s.clock.advance(7200)
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()

            var refreshes = s.fake.tokenExchanges(grantType: "refresh_token")
            #expect(refreshes.count == 2)
            #expect(refreshes.allSatisfy { $0.status == 200 })
            let rt2 = try #require(refreshes.first?.member("refresh_token"))
            #expect(rt2 != rt1)
            #expect(refreshes.map { $0.request[field: "refresh_token"] } == [rt1, rt2])
            let rt3 = try #require(refreshes.last?.member("refresh_token"))

            // Restart on the same database: the grant comes back with the rotated token.
            try await s.restart()
            s.clock.advance(7200)
            let afterRestart = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            refreshes = s.fake.tokenExchanges(grantType: "refresh_token")
            #expect(refreshes.count == 3)
            #expect(refreshes.last?.request[field: "refresh_token"] == rt3)
            #expect(refreshes.last?.status == 200)
            #expect(afterRestart.accessToken.exposedValue == refreshes.last?.member("access_token"))
            #expect(s.fake.requests(to: "/authorize").count == 1)
            #expect(s.browser.openedURLs.count == 1)
        }
    }

    /// A refresh answer without `refresh_token` keeps the one held (RFC 6749 §6).
    /// The callback port changed (taken by another program across a restart): the next
    /// refresh still uses the client the token was issued to, and registers nobody
    /// (RFC 8252 §7.3: the port is not part of a loopback client's identity; a new
    /// client's refresh would be refused and force a sign-in).
    @Test func aRefreshUsesTheClientTheTokenWasIssuedTo() async throws {
        try await Scenario.run { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let exchange = try #require(s.fake.tokenRequests(grantType: "authorization_code").only)
            let redirectURI = try #require(exchange[field: "redirect_uri"])
            let port = try #require(URLComponents(string: redirectURI)?.port)
            var blocker: (any Channel)?
            try await s.restart {
                blocker = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)  // past the old callback's TIME_WAIT
                    .bind(host: "127.0.0.1", port: port).get()
            }
            s.clock.advance(7200)
            let renewed = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            try await blocker?.close()
            let refresh = try #require(s.fake.tokenRequests(grantType: "refresh_token").only)
            #expect(refresh[field: "client_id"] == exchange[field: "client_id"])
            // A flag, not the tokens: a failure must not print them.
            let servedTheRefreshedToken =
                renewed.accessToken.exposedValue == s.fake.tokenExchanges(grantType: "refresh_token").only?.member("access_token")
            #expect(servedTheRefreshedToken)
            #expect(s.fake.requests(to: "/register").count == 1)
            #expect(s.fake.requests(to: "/authorize").count == 1)
            // The port did change, and the grant is still there.
            #expect(try await s.daemon.daemon.endpoints().callbackPort != port)
            #expect(try await s.grants().grants.only != nil)
        }
    }

    /// A sign-in refused at the redirect with `invalid_scope` (a redirect that could be
    /// forged) registers a new client for the sign-ins to come, but grants issued to the
    /// old client keep refreshing and are revoked as it, across a restart too: one
    /// refusal must not end every grant at the issuer.
    @Test func aRefusedSignInKeepsTheClientOtherGrantsWereIssuedTo() async throws {
        try await Scenario.run { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let first = try #require(s.fake.tokenRequests(grantType: "authorization_code").only?[field: "client_id"])
            let files = s.fake.otherResource("files")
            s.fake.update { $0.authorizeError = "invalid_scope" }
            let refused = try await s.client.token(files, scopes: [Self.read])
            #expect(refused.reason == "authorization_failed")
            s.fake.update { $0.authorizeError = nil }
            _ = try await s.client.token(files, scopes: [Self.read]).tokenResult()
            let second = try #require(s.fake.tokenRequests(grantType: "authorization_code").last?[field: "client_id"])
            #expect(second != first)

            try await s.restart()
            s.clock.advance(7200)
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            _ = try await s.client.token(files, scopes: [Self.read]).tokenResult()
            let refreshes = s.fake.tokenExchanges(grantType: "refresh_token")
            #expect(refreshes.map { $0.request[field: "client_id"] } == [first, second])
            #expect(refreshes.allSatisfy { $0.status == 200 })
            #expect(s.fake.requests(to: "/authorize").count == 4)  // two sign-ins, the refused one with its retry
            let shown = try await s.grants().grants.map { [$0.resource: $0.clientID] }
            #expect(shown == [[s.fake.resource: first], [files: second]])

            _ = try await s.client.call(.grantsRevoke, ["all": true])
            let revokedAs = s.fake.requests(to: "/revoke").map { $0[field: "client_id"] }
            #expect(revokedAs.sorted { ($0 ?? "") < ($1 ?? "") } == [first, first, second, second].sorted())
        }
    }

    /// The operator replaced the pre-registered client: tokens issued to the old one are
    /// never sent as the new one (RFC 6749 §6); the next request signs in as the new client.
    @Test func aRefreshNeverSendsATokenAsAnotherClient() async throws {
        func client(_ id: String) -> (FakeOAuthServer) -> [PreregisteredClient] {
            { fake in [PreregisteredClient(issuer: fake.issuer, credentials: ClientCredentials(clientID: id))] }
        }
        try await Scenario.run({ $0.registrationEnabled = false }, preregistered: client("old")) { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            try await s.restart(preregistered: client("new")(s.fake))
            s.clock.advance(7200)
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            // A count: a failure must not print the request, token and all.
            #expect(s.fake.tokenRequests(grantType: "refresh_token").count == 0)
            #expect(s.fake.requests(to: "/authorize").map { $0[field: "client_id"] } == ["old", "new"])
        }
    }

    /// A client registered before redirect paths were per issuer keeps its shared
    /// `/callback`: no new registration (which would orphan its refresh tokens).
    @Test func aRegistrationWithTheSharedPathIsKept() async throws {
        try await Scenario.run { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let daemon = s.daemon
            try await s.restart {
                let store = try daemon.openStore()
                var registration = try #require(try await store.clientRegistration(issuer: s.fake.issuer))
                let ownPath = LoopbackRedirect.path(forIssuer: s.fake.issuer)
                #expect(registration.redirectURI.hasSuffix(ownPath))
                registration.redirectURI = String(registration.redirectURI.dropLast(ownPath.count)) + LoopbackRedirect.sharedPath
                try await store.saveClientRegistration(registration)
                try store.close()
            }
            // The refresh token dies, so a new sign-in: with the kept client, on the shared path.
            s.fake.update { $0.refreshFault = .oauthError("invalid_grant") }
            s.clock.advance(7200)
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(s.fake.requests(to: "/authorize").count == 2)
            #expect(s.fake.requests(to: "/register").count == 1)
            #expect(s.fake.requests(to: "/authorize").last?[field: "redirect_uri"]?.hasSuffix("/callback") == true)
        }
    }

    @Test func refreshWithoutANewRefreshTokenKeepsTheOldOne() async throws {
        try await Scenario.run({ $0.rotateRefreshTokens = false }) { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let rt = try #require(s.fake.tokenExchanges(grantType: "authorization_code").only?.member("refresh_token"))
            for _ in 0..<2 {
                s.clock.advance(7200)
                _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            }
            let refreshes = s.fake.tokenExchanges(grantType: "refresh_token")
            #expect(refreshes.map { $0.member("refresh_token") } == [nil, nil])
            #expect(refreshes.map { $0.request[field: "refresh_token"] } == [rt, rt])
            #expect(refreshes.allSatisfy { $0.status == 200 })
            #expect(try await s.grants().grants.only?.hasRefreshToken == true)
        }
    }

    /// No `expires_in`: the lifetime is unknown, so the token is served until a server
    /// rejects it; then one refresh.
    @Test func tokenWithoutLifetimeIsServedUntilRejected() async throws {
        try await Scenario.run({ $0.expiresIn = nil }) { s in
            let first = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(first.expiresAt == nil)
            s.clock.advance(365 * 24 * 3600)
            let later = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(later.accessToken == first.accessToken)
            #expect(s.fake.tokenRequests(grantType: "refresh_token").isEmpty)

            let rejected = try await s.client.token(
                s.fake.resource, challenge: s.fake.unauthorizedChallenge(), status: 401,
                rejectedToken: first.accessToken.exposedValue
            ).tokenResult()
            #expect(rejected.accessToken != first.accessToken)
            #expect(s.fake.tokenRequests(grantType: "refresh_token").count == 1)
            #expect(s.fake.requests(to: "/authorize").count == 1)
        }
    }

    // MARK: - 3. invalid_grant on refresh

    @Test func refusedRefreshSignsInAgainForEverythingRequestedSoFar() async throws {
        try await Scenario.run({ $0.requiredScopes = [Self.write] }) { s in
            let first = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let forbidden = try await s.browser.callResource(s.fake.resource, token: first.accessToken.exposedValue)
            #expect(forbidden.status == 403)
            let steppedUp = try await s.client.token(
                s.fake.resource, challenge: forbidden.challenge, status: 403, rejectedToken: first.accessToken.exposedValue
            ).tokenResult()
            #expect(steppedUp.scopes == [Self.read, Self.write])

            // The refresh token dies at the server; the access token expires.
            s.fake.update { $0.refreshFault = .oauthError("invalid_grant") }
            s.clock.advance(7200)
            s.browser.setAutoFollow { _ in false }
            let request = Task { try await s.client.token(s.fake.resource, scopes: [Self.read]) }

            // While the new sign-in waits for the person, the scope history is intact.
            let url = await s.browser.opened.wait(forCount: 3)[2]
            #expect(s.fake.tokenRequests(grantType: "refresh_token").count == 1)
            let pending = try #require(try await s.grants().grants.only)
            #expect(pending.requestedScopes == [Self.read, Self.write])
            #expect(!pending.hasRefreshToken)
            #expect(pending.pendingAuthorization?.scopes == [Self.read, Self.write])

            try await s.browser.follow(url)
            let renewed = try await request.value.tokenResult()
            #expect(s.fake.requests(to: "/authorize").map { $0[field: "scope"] } == [
                Self.read, "\(Self.read) \(Self.write)", "\(Self.read) \(Self.write)",
            ])
            #expect(renewed.scopes == [Self.read, Self.write])
            let after = try #require(try await s.grants().grants.only)
            #expect(after.requestedScopes == [Self.read, Self.write])
            #expect(after.hasRefreshToken)
        }
    }

    // MARK: - 4. Short expiry

    @Test func shortLivedTokenIsRefreshedOnceWithoutASignIn() async throws {
        try await Scenario.run({ $0.expiresIn = 60 }) { s in
            let first = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()

            // 40 s left: enough (minValidSeconds 30, capped at half the 60 s lifetime).
            s.clock.advance(20)
            let early = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(early.accessToken == first.accessToken)
            #expect(s.fake.tokenRequests(grantType: "refresh_token").isEmpty)

            // Past expiry: one refresh, and the renewed token is served after it.
            s.clock.advance(45)
            let renewed = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let again = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(renewed.accessToken != first.accessToken)
            #expect(again.accessToken == renewed.accessToken)
            #expect(s.fake.tokenRequests(grantType: "refresh_token").count == 1)
            #expect(s.fake.requests(to: "/authorize").count == 1)
            #expect(s.browser.openedURLs.count == 1)
        }
    }

    // MARK: - 5. 403 without scope=

    @Test func forbiddenWithoutScopeStepsUpToNeededAndResourceScopes() async throws {
        let configure: (inout FakeOAuthServer.Behaviour) -> Void = {
            $0.prmScopesSupported = ["mcp:basic", "mcp:read"]
            $0.requiredScopes = ["mcp:write"]
            $0.scopeInForbiddenChallenge = false
        }
        try await Scenario.run(configure) { s in
            let first = try await s.client.token(s.fake.resource, scopes: ["mcp:basic"]).tokenResult()
            #expect(first.scopes == ["mcp:basic"])
            let forbidden = try await s.browser.callResource(s.fake.resource, token: first.accessToken.exposedValue)
            #expect(forbidden.status == 403)
            #expect(!forbidden.challenge.contains("scope="))

            let steppedUp = try await s.client.token(
                s.fake.resource, scopes: ["mcp:write"], challenge: forbidden.challenge, status: 403,
                rejectedToken: first.accessToken.exposedValue
            ).tokenResult()
            let scopes = s.fake.requests(to: "/authorize").map { $0[field: "scope"] }
            #expect(scopes.count == 2)
            #expect(scopes.first == "mcp:basic")
            // Previously requested first, then the request's own scope, then the resource's.
            #expect(scopes.last == "mcp:basic mcp:write mcp:read")
            #expect(Set(steppedUp.scopes) == ["mcp:basic", "mcp:write", "mcp:read"])
            #expect(try await s.browser.callResource(s.fake.resource, token: steppedUp.accessToken.exposedValue).status == 200)
        }
    }

    /// A server with OpenID Connect on lists `openid` and friends in both metadata
    /// documents. The fallbacks the broker picks itself (the resource's scopes_supported
    /// at a scope-less 403, the registration's scope) leave them out; a client that names
    /// `openid` still gets it.
    @Test func fallbacksNeverAddOpenIDIdentityScopes() async throws {
        let configure: (inout FakeOAuthServer.Behaviour) -> Void = {
            $0.prmScopesSupported = ["openid", "mcp:basic", "profile", "mcp:read", "email"]
            $0.asScopesSupported = ["openid", "profile", "email", "address", "phone", "mcp:basic", "mcp:read", "mcp:write"]
            $0.requiredScopes = ["mcp:write"]
            $0.scopeInForbiddenChallenge = false
        }
        try await Scenario.run(configure) { s in
            let first = try await s.client.token(s.fake.resource, scopes: ["mcp:basic"]).tokenResult()
            let forbidden = try await s.browser.callResource(s.fake.resource, token: first.accessToken.exposedValue)
            #expect(forbidden.status == 403)
            _ = try await s.client.token(
                s.fake.resource, scopes: ["mcp:write"], challenge: forbidden.challenge, status: 403,
                rejectedToken: first.accessToken.exposedValue
            ).tokenResult()
            let registration = try #require(s.fake.requests(to: "/register").only)
            #expect(registration.body.contains(#""scope":"mcp:basic mcp:read mcp:write""#))
            #expect(s.fake.requests(to: "/authorize").map { $0[field: "scope"] } == ["mcp:basic", "mcp:basic mcp:write mcp:read"])

            // Named by the client, openid is asked for (and registered for).
            _ = try await s.client.token(s.fake.resource, scopes: ["openid"]).tokenResult()
            #expect(s.fake.requests(to: "/authorize").last?[field: "scope"] == "mcp:basic mcp:write mcp:read openid")
        }
    }

    /// A resource naming 20,000 authorization servers (none of them real): a few are
    /// tried, then discovery_failed; the daemon does not fetch thousands of documents.
    @Test func discoveryTriesAFewAuthorizationServersAtMost() async throws {
        try await Scenario.run { s in
            s.fake.update { behaviour in
                behaviour.authorizationServers = (0..<20_000).map { "\(s.fake.origin)/as\($0)" }
            }
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read])
            #expect(reply.reason == "discovery_failed")
            let tried = Set(s.fake.requests.compactMap { request in
                request.path.split(separator: "/").first { $0.hasPrefix("as") && $0.dropFirst(2).allSatisfy(\.isNumber) }
            })
            #expect(tried == ["as0", "as1", "as2"])
        }
    }

    // MARK: - 6. Discovery refusals

    enum DiscoveryRefusal: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case resourceForAnotherOrigin
        case issuerMismatch
        case pkceMethodsAbsent
        case pkcePlainOnly

        var testDescription: String { rawValue }

        func configure(_ behaviour: inout FakeOAuthServer.Behaviour) {
            switch self {
            case .resourceForAnotherOrigin: behaviour.prmResource = "https://evil.example.com/mcp"
            case .issuerMismatch: behaviour.issuerOverride = "https://attacker.example.com"
            case .pkceMethodsAbsent: behaviour.codeChallengeMethods = nil
            case .pkcePlainOnly: behaviour.codeChallengeMethods = ["plain"]
            }
        }

        /// The metadata document the daemon must have read before refusing.
        var refusedDocument: String {
            self == .resourceForAnotherOrigin
                ? "/.well-known/oauth-protected-resource/mcp" : "/.well-known/oauth-authorization-server"
        }
    }

    @Test(arguments: DiscoveryRefusal.allCases)
    func discoveryRefusesUntrustworthyMetadata(_ refusal: DiscoveryRefusal) async throws {
        try await Scenario.run(refusal.configure) { s in
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read])
            #expect(reply.reason == "discovery_failed")
            #expect(reply.response.error?.code == .discoveryFailed)
            #expect(!s.fake.requests(to: refusal.refusedDocument).isEmpty)
            for path in ["/authorize", "/register", "/token"] {
                #expect(s.fake.requests(to: path).isEmpty, "\(path) must not be used")
            }
            #expect(s.browser.openedURLs.isEmpty)
        }
    }

    @Test func plainHTTPWithoutTheLoopbackOptInIsRefusedBeforeAnyRequest() async throws {
        try await Scenario.run(allowHTTPLoopback: false) { s in
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read])
            #expect(reply.reason == "invalid_params")
            #expect(reply.response.error?.code == .invalidParams)
            #expect(s.fake.requests.isEmpty)
        }
    }

    /// `offline_access` only when the server lists it, and never as the only scope.
    @Test(arguments: [
        (["offline_access"], [FaultInjectionTests.read], "files:read offline_access"),
        (nil, [FaultInjectionTests.read], "files:read"),
        (["files:read"], [FaultInjectionTests.read], "files:read"),
        (["offline_access"], [], nil),
    ] as [([String]?, [String], String?)])
    func offlineAccessIsAskedForOnlyWhenOffered(asScopes: [String]?, needed: [String], expected: String?) async throws {
        try await Scenario.run({ $0.asScopesSupported = asScopes }) { s in
            _ = try await s.client.token(s.fake.resource, scopes: needed).tokenResult()
            let authorize = try #require(s.fake.requests(to: "/authorize").only)
            #expect(authorize[field: "scope"] == expected)
        }
    }

    /// Without a registration endpoint, a pre-registered client is used (HTTP Basic) and
    /// nothing registers; without either, nothing is sent to the server.
    @Test func preregisteredClientIsUsedWhenTheServerCannotRegister() async throws {
        try await Scenario.run({ $0.registrationEnabled = false }, preregistered: { fake in
            [PreregisteredClient(
                issuer: fake.issuer,
                credentials: ClientCredentials(clientID: "pre client", clientSecret: Secret("cs-SECRET-pre"), authenticationMethod: .clientSecretBasic))]
        }) { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(s.fake.requests(to: "/register").isEmpty)
            #expect(s.fake.requests(to: "/authorize").only?[field: "client_id"] == "pre client")
            let exchange = try #require(s.fake.tokenRequests(grantType: "authorization_code").only)
            // RFC 6749 §2.3.1: id and secret form-encoded, joined by ":", then Base64.
            let basic = try #require(exchange.header("Authorization"))
            #expect(basic.hasPrefix("Basic "))
            let decoded = try #require(Data(base64Encoded: String(basic.dropFirst("Basic ".count))))
            let pair = String(decoding: decoded, as: UTF8.self).split(separator: ":", maxSplits: 1).map {
                FormCoding.decode("x=" + $0).first?.value
            }
            #expect(pair == ["pre client", "cs-SECRET-pre"])
            #expect(exchange[field: "client_secret"] == nil)
        }
        try await Scenario.run({ $0.registrationEnabled = false }) { s in
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read])
            #expect(reply.reason == "discovery_failed")
            #expect(s.fake.requests(to: "/authorize").isEmpty && s.fake.requests(to: "/token").isEmpty)
        }
    }

    // MARK: - 7. RFC 9207

    struct IssCase: Sendable, CustomTestStringConvertible {
        var name: String
        var advertised: Bool?
        var mode: FakeOAuthServer.IssMode
        var accepted: Bool
        var testDescription: String { name }
    }

    static let issCases: [IssCase] = [
        IssCase(name: "advertised, correct", advertised: true, mode: .correct, accepted: true),
        IssCase(name: "not advertised, absent", advertised: nil, mode: .omit, accepted: true),
        IssCase(name: "advertised, missing", advertised: true, mode: .omit, accepted: false),
        IssCase(name: "advertised, wrong", advertised: true, mode: .wrong("https://evil.example.com"), accepted: false),
        IssCase(name: "not advertised, wrong", advertised: false, mode: .wrong("https://evil.example.com"), accepted: false),
    ]

    @Test(arguments: issCases)
    func authorizationResponseIssuerIsChecked(_ issCase: IssCase) async throws {
        try await Scenario.run({
            $0.issParameterSupported = issCase.advertised
            $0.issMode = issCase.mode
        }) { s in
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read])
            #expect(s.fake.requests(to: "/authorize").count == 1)
            if issCase.accepted {
                #expect(reply.response.error == nil)
                #expect(s.fake.tokenRequests(grantType: "authorization_code").count == 1)
            } else {
                #expect(reply.reason == "authorization_failed")
                #expect(reply.response.error?.code == .authorizationFailed)
                #expect(s.fake.tokenRequests(grantType: "authorization_code").isEmpty)
            }
        }
    }

    /// An "iss" one trailing slash away from the issuer is a mismatch: no normalisation.
    @Test func issuerWithTrailingSlashIsNotTheIssuer() async throws {
        try await Scenario.run { s in
            s.fake.update { $0.issMode = .wrong(s.fake.issuer + "/") }
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read])
            #expect(reply.reason == "authorization_failed")
            #expect(s.fake.requests(to: "/authorize").count == 1)
            #expect(s.fake.tokenRequests(grantType: "authorization_code").isEmpty)
        }
    }

    /// The person (or the server) refuses: authorization_failed with the OAuth error.
    @Test func refusedAuthorizationCarriesTheOAuthError() async throws {
        try await Scenario.run({ $0.authorizeError = "access_denied" }) { s in
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read])
            #expect(reply.reason == "authorization_failed")
            #expect(reply.response.error?.oauthError == "access_denied")
            #expect(s.fake.requests(to: "/token").isEmpty)
        }
    }

    /// A client that stops waiting gets authorization_failed; the sign-in stays open for
    /// the person and serves later requests.
    @Test func impatientClientGivesUpButTheSignInGoesOn() async throws {
        try await Scenario.run(browser: .manual()) { s in
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read], waitSeconds: 0)
            #expect(reply.reason == "authorization_failed")
            let url = try #require(s.browser.openedURLs.only)
            #expect(try await s.grants().grants.only?.pendingAuthorization?.authorizationURL == url)

            try await s.browser.follow(url)
            let token = try await s.client.token(s.fake.resource, scopes: [Self.read], interactive: false).tokenResult()
            #expect(token.scopes == [Self.read])
            #expect(s.fake.requests(to: "/authorize").count == 1)
        }
    }

    // MARK: - 8. Upstream 5xx

    @Test func serverErrorDuringRefreshLeavesTheGrantUntouched() async throws {
        try await Scenario.run { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let before = try #require(try await s.grants().grants.only)

            s.fake.update { $0.refreshFault = .status(503) }
            s.clock.advance(7200)
            let failed = try await s.client.token(s.fake.resource, scopes: [Self.read])
            #expect(failed.reason == "upstream_unavailable")
            #expect(failed.response.error?.code == .upstreamUnavailable)
            #expect(try await s.grants().grants.only == before)

            // The server recovers: the same refresh token works, no sign-in.
            s.fake.update { $0.refreshFault = nil }
            let renewed = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let refreshes = s.fake.tokenExchanges(grantType: "refresh_token")
            #expect(refreshes.map(\.status) == [503, 200])
            #expect(refreshes[0].request[field: "refresh_token"] == refreshes[1].request[field: "refresh_token"])
            #expect(renewed.accessToken.exposedValue == refreshes[1].member("access_token"))
            #expect(s.fake.requests(to: "/authorize").count == 1)
        }
    }

    /// A 5xx at the code exchange ends the sign-in: authorization_failed with the status
    /// (no retry of the same request helps; "try again later" would mislead), nothing stored.
    /// The next request signs in again.
    @Test func serverErrorDuringCodeExchangeFailsTheSignInWithItsStatus() async throws {
        try await Scenario.run({ $0.codeFault = .status(500) }) { s in
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read])
            #expect(reply.reason == "authorization_failed")
            #expect(reply.response.error?.httpStatus == 500)
            #expect(reply.response.error?.message.contains("HTTP 500") == true)
            #expect(reply.response.error?.message.contains("try again later") == false)
            #expect(try await s.grants().grants.allSatisfy { !$0.hasAccessToken && !$0.hasRefreshToken })

            s.fake.update { $0.codeFault = nil }
            let token = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(token.scopes == [Self.read])
            #expect(s.fake.tokenExchanges(grantType: "authorization_code").map(\.status) == [500, 200])
        }
    }

    /// An OAuth error at the code exchange carries both the error code and the status.
    @Test func refusedCodeExchangeCarriesTheOAuthErrorAndStatus() async throws {
        try await Scenario.run({ $0.codeFault = .oauthError("invalid_grant") }) { s in
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read])
            #expect(reply.reason == "authorization_failed")
            #expect(reply.response.error?.oauthError == "invalid_grant")
            #expect(reply.response.error?.httpStatus == 400)
        }
    }

    // MARK: - 9. Non-interactive

    @Test func nonInteractiveRequestWithoutTokenReportsTheSignInURL() async throws {
        try await Scenario.run(browser: .manual()) { s in
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read], interactive: false)
            #expect(reply.reason == "authorization_required")
            #expect(reply.response.error?.code == .authorizationRequired)
            let url = try #require(reply.response.error?.authorizationURL)
            #expect(url.hasPrefix(s.fake.origin + "/authorize?"))
            let query = FormCoding.decode(String(url.split(separator: "?", maxSplits: 1)[1]))
            #expect(query.first { $0.name == "resource" }?.value == s.fake.resource)
            #expect(query.first { $0.name == "scope" }?.value == Self.read)
            #expect(query.first { $0.name == "code_challenge_method" }?.value == "S256")
            #expect(s.browser.openedURLs.isEmpty)
            #expect(s.fake.requests(to: "/authorize").isEmpty)

            let pending = try #require(try await s.grants().grants.only)
            #expect(pending.resource == s.fake.resource)
            #expect(pending.pendingAuthorization?.authorizationURL == url)
            #expect(pending.pendingAuthorization?.scopes == [Self.read])

            // The person opens the URL later; then even non-interactive callers get a token.
            let visit = try await s.browser.follow(url)
            #expect(visit.callbackStatus == 200)
            let token = try await s.client.token(s.fake.resource, scopes: [Self.read], interactive: false).tokenResult()
            #expect(token.scopes == [Self.read])
            #expect(try await s.grants().grants.only?.pendingAuthorization == nil)
        }
    }

    // MARK: - 10. authorization/pending

    @Test func pendingNotificationCarriesTheURLThatCompletesTheSignIn() async throws {
        try await Scenario.run(browser: .manual(), launcher: BrowserLauncher.none) { s in
            let browser = s.browser
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read]) { notification in
                guard notification.method == .authorizationPending, let params = notification.params,
                    let pending = try? AuthorizationPendingParams(jsonValue: params)
                else { return }
                // Like a person reading the URL off the client's screen.
                _ = try? await browser.follow(pending.authorizationURL)
            }
            let token = try reply.tokenResult()
            #expect(token.scopes == [Self.read])
            let notification = try #require(reply.notifications.only)
            #expect(notification.method == .authorizationPending)
            let pending = try AuthorizationPendingParams(jsonValue: try #require(notification.params))
            #expect(pending.resource == s.fake.resource)
            #expect(pending.scopes == [Self.read])
            #expect(pending.authorizationURL.hasPrefix(s.fake.origin + "/authorize?"))
            #expect(s.fake.requests(to: "/authorize").count == 1)
        }
    }

    // MARK: - 11. Isolation

    @Test func openSignInDelaysNeitherCacheHitsNorOtherResources() async throws {
        try await Scenario.run({ $0.requiredScopes = [Self.write] }) { s in
            let other = try await s.startAnotherServer()
            let first = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()

            // From now on the person completes sign-ins for the other server only.
            s.browser.setAutoFollow { $0.hasPrefix(other.origin) }
            let forbidden = try await s.browser.callResource(s.fake.resource, token: first.accessToken.exposedValue)
            let finished = EventLog<String>()
            let stepUp = Task {
                let reply = try await s.client.token(
                    s.fake.resource, challenge: forbidden.challenge, status: 403, rejectedToken: first.accessToken.exposedValue)
                finished.append("step-up")
                return reply
            }
            let stepUpURL = await s.browser.opened.wait(forCount: 2)[1]
            #expect(stepUpURL.hasPrefix(s.fake.origin))

            let cached = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            finished.append("cache hit")
            let elsewhere = try await s.client.token(other.resource, scopes: [Self.read]).tokenResult()
            finished.append("other resource")

            #expect(cached.accessToken == first.accessToken)
            #expect(elsewhere.issuer == other.issuer)
            #expect(finished.items == ["cache hit", "other resource"])
            #expect(s.fake.requests(to: "/authorize").count == 1)  // the step-up URL was never opened
            #expect(try await s.grants().grants.first { $0.resource == s.fake.resource }?.pendingAuthorization != nil)

            try await s.browser.follow(stepUpURL)
            let steppedUp = try await stepUp.value.tokenResult()
            #expect(steppedUp.scopes == [Self.read, Self.write])
            #expect(finished.items == ["cache hit", "other resource", "step-up"])
        }
    }

    /// A slow token endpoint (held by a gate) during A's refresh: a token for A that is
    /// still fresh enough and a whole sign-in at another server complete meanwhile.
    @Test func slowRefreshDelaysNeitherFreshEnoughTokensNorOtherResources() async throws {
        try await Scenario.run({ $0.expiresIn = 60 }) { s in
            let other = try await s.startAnotherServer()
            let first = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()

            // 15 s left: a default request (30 s) must refresh; one asking for 10 s need not.
            s.clock.advance(45)
            let gate = Gate()
            s.fake.update { $0.tokenGate = gate }
            let finished = EventLog<String>()
            let refreshing = Task {
                let reply = try await s.client.token(s.fake.resource, scopes: [Self.read])
                finished.append("refresh")
                return reply
            }
            let held = await s.fake.waitForRequest(to: "/token", count: 2)
            #expect(held.grantType == "refresh_token")

            let freshEnough = try await s.client.token(s.fake.resource, scopes: [Self.read], minValidSeconds: 10).tokenResult()
            finished.append("fresh enough")
            let elsewhere = try await s.client.token(other.resource, scopes: [Self.read]).tokenResult()
            finished.append("other resource")
            #expect(freshEnough.accessToken == first.accessToken)
            #expect(elsewhere.issuer == other.issuer)
            #expect(finished.items == ["fresh enough", "other resource"])

            gate.open()
            let renewed = try await refreshing.value.tokenResult()
            #expect(renewed.accessToken != first.accessToken)
            #expect(finished.items == ["fresh enough", "other resource", "refresh"])
            #expect(s.fake.tokenRequests(grantType: "refresh_token").count == 1)
        }
    }

    // MARK: - Authorization server migration

    /// The resource moves to another authorization server: after the 401 the broker
    /// registers there and never sends the old server's client id or tokens.
    @Test func migrationToAnotherAuthorizationServerSendsNothingOfTheOldOne() async throws {
        try await Scenario.run({ $0.clientIDPrefix = "as1-client" }) { s in
            let second = try await s.startAnotherServer {
                $0.clientIDPrefix = "as2-client"
                $0.secretTag = "SECRET2"
            }
            let first = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(first.issuer == s.fake.issuer)

            s.fake.update { $0.authorizationServers = [second.issuer] }
            let moved = try await s.client.token(
                s.fake.resource, challenge: s.fake.unauthorizedChallenge(), status: 401,
                rejectedToken: first.accessToken.exposedValue
            ).tokenResult()
            #expect(moved.issuer == second.issuer)
            #expect(moved.scopes == [Self.read])
            #expect(second.requests(to: "/register").count == 1)
            let oldClient = try #require(s.fake.exchanges.items.first { $0.request.path == "/register" }?.member("client_id"))
            let oldTokens = s.fake.exchanges.items.flatMap { exchange in
                ["access_token", "refresh_token"].compactMap { exchange.member($0) }
            }
            #expect(!oldTokens.isEmpty)
            for request in second.requests {
                let seen = request.body + " " + request.query.map(\.value).joined(separator: " ") + " "
                    + request.headers.map(\.value).joined(separator: " ")
                #expect(!seen.contains(oldClient), "\(request.path) carried the old client id")
                #expect(!oldTokens.contains { seen.contains($0) }, "\(request.path) carried an old token")
            }
            #expect(second.requests(to: "/authorize").only?[field: "client_id"]?.hasPrefix("as2-client") == true)
            #expect(second.tokenRequests(grantType: "refresh_token").isEmpty)
            #expect(s.fake.tokenRequests(grantType: "refresh_token").isEmpty)
        }
    }

    /// Each `token/get` line says what it took: a sign-in, a token held, a refresh.
    @Test func theAuditLogSaysWhatEachTokenTook() async throws {
        try await Scenario.run { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            s.clock.advance(7200)
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let reply = try await s.client.call(.auditList)
            let entries = try AuditListResult(jsonValue: try #require(reply.response.result)).entries
            // Newest first.
            #expect(entries.filter { $0.method == "token/get" }.map(\.outcome) == ["refreshed", "served", "authorized"])
        }
    }

    // MARK: - 13. Secrets

    @Test func secretsNeverReachTheLogsOrGrantsList() async throws {
        let records = EventLog<CapturedLog>()
        try await Scenario.run(
            { $0.issueClientSecret = true; $0.clientAuthMethod = "client_secret_basic" },
            logLevel: .trace, logHandler: CapturingLogHandler(records: records)
        ) { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            s.clock.advance(7200)
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let listWithTokens = try await s.client.exchange(raw: JSONRPCRequest(id: 1, method: .grantsList).encodedLine())

            let revoke = try await s.client.call(.grantsRevoke, ["resource": .string(s.fake.resource)])
            let revoked = try GrantsRevokeResult(jsonValue: try #require(revoke.response.result))
            #expect(revoked.revoked == [RevokedGrant(resource: s.fake.resource, remote: .revoked)])
            let listAfter = try await s.client.exchange(raw: JSONRPCRequest(id: 2, method: .grantsList).encodedLine())

            // The secrets really travelled: the fake saw them, authenticated by Basic.
            let exchange = try #require(s.fake.tokenRequests(grantType: "authorization_code").only)
            let verifier = try #require(exchange[field: "code_verifier"])
            let basic = try #require(exchange.header("Authorization"))
            #expect(basic.hasPrefix("Basic "))
            let refreshed = try #require(s.fake.tokenExchanges(grantType: "refresh_token").only)
            let rt = try #require(refreshed.member("refresh_token"))
            let at = try #require(refreshed.member("access_token"))
            #expect(s.fake.revokedTokens == [rt, at])

            var secrets = [verifier, String(basic.dropFirst("Basic ".count)), "SECRET"]
            secrets += s.fake.exchanges.items.flatMap { exchange in
                ["access_token", "refresh_token", "client_secret"].compactMap { exchange.member($0) }
            }
            secrets += s.fake.requests.compactMap { $0[field: "code"] }

            let logs = records.items
            #expect(logs.count > 10, "the daemon should log at trace level")
            #expect(logs.contains { $0.message.contains("signed in") })
            #expect(logs.contains { $0.message.contains("refreshed") })
            let leaks = logs.filter { record in secrets.contains { record.text.contains($0) } }
            #expect(leaks.isEmpty, "secrets in \(leaks.map(\.message))")

            for output in listWithTokens + listAfter {
                #expect(output.contains("\"grants\""))
                #expect(!secrets.contains { output.contains($0) })
            }
        }
    }

    // MARK: - Revocation

    enum RevocationEndpoint: String, CaseIterable, Sendable {
        case absent, failing
    }

    /// Without a working revocation endpoint the tokens are still deleted locally, and
    /// the result says what happened remotely.
    @Test(arguments: RevocationEndpoint.allCases)
    func revocationDeletesLocallyWhateverTheServerDoes(_ endpoint: RevocationEndpoint) async throws {
        try await Scenario.run({
            $0.revocationEnabled = endpoint != .absent
            $0.revokeStatus = endpoint == .failing ? 503 : nil
        }) { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let reply = try await s.client.call(.grantsRevoke, ["all": true])
            let result = try GrantsRevokeResult(jsonValue: try #require(reply.response.result))
            #expect(result.revoked == [RevokedGrant(resource: s.fake.resource, remote: endpoint == .absent ? .unsupported : .failed)])
            #expect(s.fake.requests(to: "/revoke").count == (endpoint == .absent ? 0 : 1))
            #expect(try await s.grants().grants.allSatisfy { !$0.hasAccessToken && !$0.hasRefreshToken })
            let nonInteractive = try await s.client.token(s.fake.resource, scopes: [Self.read], interactive: false)
            #expect(nonInteractive.reason == "authorization_required")
        }
    }

    /// After a revoke, the next sign-in asks only for what is needed again, whether or
    /// not the daemon restarted in between.
    @Test(arguments: [false, true])
    func revocationStartsTheScopeHistoryOver(restart: Bool) async throws {
        try await Scenario.run { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            _ = try await s.client.token(s.fake.resource, scopes: [Self.write]).tokenResult()
            #expect(s.fake.requests(to: "/authorize").map { $0[field: "scope"] } == [Self.read, "\(Self.read) \(Self.write)"])

            let revoke = try await s.client.call(.grantsRevoke, ["resource": .string(s.fake.resource)])
            #expect(revoke.response.error == nil)
            if restart { try await s.restart() }
            let after = try #require(try await s.grants().grants.only)
            #expect(!after.hasAccessToken && !after.hasRefreshToken)
            #expect(after.requestedScopes.isEmpty)

            let token = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(s.fake.requests(to: "/authorize").last?[field: "scope"] == Self.read)
            #expect(token.scopes == [Self.read])
            #expect(try await s.grants().grants.only?.requestedScopes == [Self.read])
        }
    }
}

extension Collection {
    /// The single element, or `nil` when there are none or several.
    var only: Element? { count == 1 ? first : nil }
}

/// The fake's own SHA-256 against RFC 7636 Appendix B, so the PKCE check can be trusted.
@Test func fakeServerPKCECheckMatchesRFC7636() {
    #expect(PKCECheck.challenge(for: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
}
