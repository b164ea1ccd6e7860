import Foundation
import Testing
import TokenBrokerCore

/// A resource's life through the production state machine: each request is played to
/// its end against a fake authorization server that answers every round at once, and the
/// first decision the machine made for it is returned.
private struct World {
    var machine: ResourceStateMachine
    var now = Date(timeIntervalSince1970: 1_800_000_000)
    var issued = 0
    /// Every sign-in the broker started, with its scopes.
    var signIns: [[String]] = []
    /// The client connections, each with what its answers showed; requests go to the first
    /// unless another is named.
    var connections = [ConnectionUseRecord()]
    /// A connection showed a successful use since the last request reached the machine.
    var useConfirmed = false

    /// Every client credentials request the broker made, with its scopes.
    var clientCredentialsRequests: [[String]] = []

    init(prm: String = "", authorizationServer: String = "", clientCredentials: Bool = false) {
        machine = ResourceStateMachine(
            resource: try! ResourceURI("https://rs.example/mcp", policy: .strict), grant: nil,
            sources: ScopeSources(
                protectedResourceScopes: try! ScopeSet(parsing: prm),
                authorizationServerScopes: try! ScopeSet(parsing: authorizationServer)))
        machine.usesClientCredentials = clientCredentials
    }

    var grant: Grant? { machine.grant }
    var currentToken: Secret? { grant?.accessToken }

    /// Plays `request` to its end against an authorization server that grants `grantScope`
    /// (nil: omits `scope`, meaning "as requested"); returns the first decision taken.
    @discardableResult
    mutating func ask(
        _ request: TokenRequest, on connection: Int = 0, grantScope: String? = nil, expiresIn: Int = 3600, refreshToken: Bool = true
    ) -> GrantAction {
        while connections.count <= connection { connections.append(ConnectionUseRecord()) }
        let action = play(request, grantScope: grantScope, expiresIn: expiresIn, refreshToken: refreshToken)
        let served = !request.reportsChallenge && (action == .serve || action == .refresh || action.isAuthorize)
        if connections[connection].noteAnswer(for: machine.resource, served: served) { useConfirmed = true }
        return action
    }

    private mutating func play(_ request: TokenRequest, grantScope: String?, expiresIn: Int, refreshToken: Bool) -> GrantAction {
        var (attempt, _) = machine.begin(request, confirmedUse: useConfirmed)
        useConfirmed = false
        var first: GrantAction?
        while true {
            switch machine.next(&attempt, now: now) {
            case .serve:
                return first ?? .serve
            case .refresh:
                first = first ?? .refresh
                issued += 1
                let response = TokenResponse(
                    accessToken: Secret("at-\(issued)"), expiresIn: expiresIn, refreshToken: Secret("rt-\(issued)"),
                    scope: grantScope.map { try! ScopeSet(parsing: $0) })
                guard case .storeRotation(let next, _, _) = machine.refreshAnswered(.issued(response), now: now) else {
                    Issue.record("a refresh answered with tokens must be stored")
                    return first!
                }
                machine.rotationStored(next, swapped: true, stored: nil)
            case .startSignIn(let scopes):
                first = first ?? .authorize(scopes: scopes)
                signIns.append(scopes.strings)
                issued += 1
                let response = TokenResponse(
                    accessToken: Secret("at-\(issued)"), expiresIn: expiresIn,
                    refreshToken: refreshToken ? Secret("rt-\(issued)") : nil,
                    scope: grantScope.map { try! ScopeSet(parsing: $0) })
                guard case .storeGrant(let next) = machine.codeExchangeAnswered(
                    .issued(response), issuer: "https://as.example", clientID: "client-1", scopes: scopes, now: now)
                else {
                    Issue.record("a code exchange answered with tokens must be stored")
                    return first!
                }
                machine.signInEnded(storing: next)
                if case .serve = machine.signInJoined(&attempt, outcome: .signedIn(next), scopes: scopes) { return first! }
            case .requestClientCredentials(let scopes):
                first = first ?? .authorize(scopes: scopes)
                clientCredentialsRequests.append(scopes.strings)
                issued += 1
                let response = TokenResponse(
                    accessToken: Secret("at-\(issued)"), expiresIn: expiresIn,
                    refreshToken: refreshToken ? Secret("rt-\(issued)") : nil,
                    scope: grantScope.map { try! ScopeSet(parsing: $0) })
                guard case .storeGrant(let next) = machine.clientCredentialsAnswered(
                    .issued(response), issuer: "https://as.example", clientID: "cc-client", scopes: scopes, now: now)
                else {
                    Issue.record("a client credentials answer with a token must be stored")
                    return first!
                }
                machine.clientCredentialsEnded(storing: next)
            case .joinSignIn, .awaitRefresh:
                Issue.record("one request at a time never waits for another")
                return first ?? .serve
            case .fail(.scopeUnattainable(let failure)):
                return first ?? .fail(failure)
            case .fail(let failure):
                Issue.record("unexpected failure \(failure)")
                return first ?? .serve
            }
        }
    }

    mutating func advance(_ seconds: TimeInterval) { now = now.addingTimeInterval(seconds) }
}

extension GrantAction {
    fileprivate var isAuthorize: Bool {
        if case .authorize = self { return true }
        return false
    }
}

private func scopes(_ text: String) -> ScopeSet { try! ScopeSet(parsing: text) }

private func challenge401(scope: String? = nil) -> TokenRequest {
    TokenRequest(challenge: BearerChallenge(error: "invalid_token", scope: scope.map(scopes)), status: 401)
}

private func challenge403(scope: String?, rejecting token: Secret?, needed: String = "") -> TokenRequest {
    TokenRequest(
        neededScopes: scopes(needed),
        challenge: BearerChallenge(error: "insufficient_scope", scope: scope.map(scopes)), status: 403,
        rejectedToken: token)
}

@Suite struct GrantPlannerConformanceTests {
    /// auth/scope-from-www-authenticate: the 401's scope is asked for.
    @Test func scopeFromWWWAuthenticate() {
        var world = World()
        #expect(world.ask(challenge401(scope: "mcp:basic")) == .authorize(scopes: scopes("mcp:basic")))
    }

    /// auth/scope-from-scopes-supported: no scope in the 401, PRM lists three.
    @Test func scopeFromScopesSupported() {
        var world = World(prm: "mcp:basic mcp:read mcp:write")
        #expect(world.ask(challenge401()) == .authorize(scopes: scopes("mcp:basic mcp:read mcp:write")))
    }

    /// auth/scope-omitted-when-undefined: nothing anywhere, so no scope parameter.
    @Test func scopeOmittedWhenUndefined() {
        var world = World()
        #expect(world.ask(challenge401()) == .authorize(scopes: []))
        #expect(world.ask(TokenRequest()) == .serve)
    }

    /// A client's own needs beat the PRM fallback (least privilege).
    @Test func neededScopesBeatTheFallback() {
        var world = World(prm: "files:read files:write admin")
        #expect(world.ask(TokenRequest(neededScopes: scopes("files:read"))) == .authorize(scopes: scopes("files:read")))
    }

    /// auth/scope-step-up with the SEP-2350 union check: the 403 names only the delta.
    @Test func scopeStepUpUnion() {
        var world = World(prm: "mcp:profile")
        #expect(world.ask(challenge401(scope: "mcp:basic")) == .authorize(scopes: scopes("mcp:basic")))
        #expect(world.ask(TokenRequest()) == .serve)
        let action = world.ask(challenge403(scope: "mcp:write", rejecting: world.currentToken))
        #expect(action == .authorize(scopes: scopes("mcp:basic mcp:write")))
        #expect(world.grant?.requestedScopes.strings == ["mcp:basic", "mcp:write"])
        #expect(world.ask(TokenRequest(neededScopes: scopes("mcp:write"))) == .serve)
    }

    /// auth/scope-retry-limit: a server that refuses forever gets 1 to 3 sign-ins in all.
    @Test func scopeRetryLimit() {
        var world = World()
        world.ask(challenge401(scope: "mcp:admin"))
        var failures = 0
        for _ in 0..<6 {
            if case .fail = world.ask(challenge403(scope: "mcp:admin", rejecting: world.currentToken)) { failures += 1 }
        }
        #expect((1...3).contains(world.signIns.count))
        #expect(failures == 6)
    }

    /// A hostile server that challenges a new scope every time still gets at most three.
    @Test func retryLimitHoldsWhenEveryChallengeAddsAScope() {
        var world = World()
        var lastAction: GrantAction = .serve
        for round in 0..<6 {
            lastAction = world.ask(challenge403(scope: "s\(round)", rejecting: world.currentToken))
        }
        #expect(world.signIns.count == StepUpLedger.maximumAuthorizations)
        #expect(lastAction == .fail(.authorizationLimitReached(attempts: 3)))
    }

    /// Requests without a challenge on other connections (other clients, or a one-shot
    /// helper's new connection each time) show nothing about the token a refusing server
    /// keeps rejecting: the limit holds.
    @Test func otherConnectionsDoNotResetTheLimit() {
        var world = World()
        var lastAction: GrantAction = .serve
        for round in 0..<6 {
            lastAction = world.ask(challenge403(scope: "s\(round)", rejecting: world.currentToken))
            #expect(world.ask(TokenRequest(), on: 1 + 2 * round) == .serve)
            #expect(world.ask(TokenRequest(), on: 2 + 2 * round) == .serve)
        }
        #expect(world.signIns.count == StepUpLedger.maximumAuthorizations)
        #expect(lastAction == .fail(.authorizationLimitReached(attempts: 3)))
    }

    /// Requests that were refused show no use either: a client retrying after the limit
    /// does not reopen the browser.
    @Test func refusedRequestsAreNoUse() {
        var world = World()
        for round in 0..<3 {
            world.ask(challenge403(scope: "s\(round)", rejecting: world.currentToken))
        }
        for _ in 0..<3 {
            #expect(world.ask(TokenRequest(neededScopes: scopes("more"))) == .fail(.authorizationLimitReached(attempts: 3)))
        }
        #expect(world.ask(challenge403(scope: "s3", rejecting: world.currentToken)) == .fail(.authorizationLimitReached(attempts: 3)))
        #expect(world.signIns.count == StepUpLedger.maximumAuthorizations)
    }

    /// Successful uses in between (two requests without a challenge) reset the count.
    @Test func successfulUseResetsTheLimit() {
        var world = World()
        for round in 0..<6 {
            let action = world.ask(challenge403(scope: "s\(round)", rejecting: world.currentToken))
            #expect(action == .authorize(scopes: ScopeSet((0...round).map { Scope(rawValue: "s\($0)")! })))
            #expect(world.ask(TokenRequest()) == .serve)
            #expect(world.ask(TokenRequest()) == .serve)
        }
    }

    /// auth/offline-access-scope: the AS lists offline_access, so it is added.
    @Test func offlineAccessWhenAdvertised() {
        var world = World(prm: "mcp:basic", authorizationServer: "mcp:basic offline_access")
        #expect(world.ask(challenge401()) == .authorize(scopes: scopes("mcp:basic offline_access")))
    }

    /// auth/offline-access-not-supported, and never offline_access alone.
    @Test func noOfflineAccessWhenNotAdvertisedOrNothingElseIsAsked() {
        var world = World(prm: "mcp:basic mcp:read", authorizationServer: "mcp:basic mcp:read")
        #expect(world.ask(challenge401()) == .authorize(scopes: scopes("mcp:basic mcp:read")))
        var empty = World(authorizationServer: "offline_access")
        #expect(empty.ask(challenge401()) == .authorize(scopes: []))
    }
}

@Suite struct GrantPlannerStepUpTests {
    /// rust-sdk PR #888: read → read,write → read,write,admin.
    @Test func accumulatesAcrossSeveralRounds() {
        var world = World()
        world.ask(TokenRequest(neededScopes: scopes("read")))
        #expect(world.ask(challenge403(scope: "write", rejecting: world.currentToken)) == .authorize(scopes: scopes("read write")))
        #expect(world.ask(challenge403(scope: "admin", rejecting: world.currentToken)) == .authorize(scopes: scopes("read write admin")))
        #expect(world.signIns == [["read"], ["read", "write"], ["read", "write", "admin"]])
    }

    /// rust-sdk PR #888: a challenge naming an already requested scope is not repeated.
    @Test func deduplicatesAChallengeAlreadyRequested() {
        var world = World()
        world.ask(TokenRequest(neededScopes: scopes("read write")))
        #expect(world.ask(challenge403(scope: "write admin", rejecting: world.currentToken)) == .authorize(scopes: scopes("read write admin")))
    }

    /// rust-sdk PR #888: an explicit narrower grant is honoured, not fought.
    @Test func explicitDowngradeIsHonoured() {
        var world = World()
        world.ask(TokenRequest(neededScopes: scopes("read write")), grantScope: "read")
        #expect(world.grant?.grantedScopes == scopes("read"))
        #expect(world.ask(TokenRequest(neededScopes: scopes("read"))) == .serve)
        #expect(world.ask(TokenRequest(neededScopes: scopes("write"))) == .fail(.scopesRefused(scopes("write"))))
        #expect(world.ask(challenge403(scope: "write", rejecting: world.currentToken)) == .fail(.scopesRefused(scopes("write"))))
        #expect(world.signIns.count == 1)
    }

    /// A step-up is a new sign-in, never a refresh (RFC 6749 §6), even with a refresh token.
    @Test func stepUpNeverRefreshes() {
        var world = World()
        world.ask(TokenRequest(neededScopes: scopes("read")))
        #expect(world.grant?.refreshToken != nil)
        let action = world.ask(challenge403(scope: "write", rejecting: world.currentToken))
        #expect(action == .authorize(scopes: scopes("read write")))
    }

    /// http-mcp, DOT and the MCP SDK send 403 without scope=: needed ∪ PRM scopes_supported,
    /// without the OpenID Connect identity scopes DOT lists there when OIDC is on (its
    /// token endpoint then fails to sign an ID token nobody asked for).
    @Test func forbiddenWithoutScopeFallsBackToNeededAndScopesSupported() {
        var world = World(prm: "openid files:read profile files:write email")
        world.ask(TokenRequest(neededScopes: scopes("files:read")))
        let action = world.ask(challenge403(scope: nil, rejecting: world.currentToken, needed: "files:write"))
        #expect(action == .authorize(scopes: scopes("files:read files:write")))
    }

    /// Named by a client or a challenge, an identity scope is asked for like any other.
    @Test func identityScopesAreAskedForWhenNamed() {
        var world = World(prm: "openid files:read")
        #expect(world.ask(TokenRequest(neededScopes: [])) == .authorize(scopes: scopes("files:read")))
        #expect(world.ask(challenge403(scope: "openid", rejecting: world.currentToken)) == .authorize(scopes: scopes("files:read openid")))
    }

    /// The MCP SDK's server: PRM lists only what was already asked, so there is nothing more.
    @Test func forbiddenWithoutScopeAndNothingNewToAskFails() {
        var world = World(prm: "files:read")
        world.ask(challenge401())
        #expect(world.ask(challenge403(scope: nil, rejecting: world.currentToken)) == .fail(.scopesRefused(scopes("files:read"))))
    }

    /// A client needing more than the token has asks for needed ∪ requested, up front.
    @Test func neededScopeBeyondTheGrantStartsASignInForTheUnion() {
        var world = World()
        world.ask(TokenRequest(neededScopes: scopes("files:read")))
        #expect(world.ask(TokenRequest(neededScopes: scopes("files:write"))) == .authorize(scopes: scopes("files:read files:write")))
    }

    /// Two clients hit the same 403: the second reports the old token and is served the new one.
    @Test func secondClientWithTheOldTokenIsServedTheSteppedUpOne() {
        var world = World()
        world.ask(TokenRequest(neededScopes: scopes("read")))
        let old = world.currentToken
        world.ask(challenge403(scope: "write", rejecting: old))
        #expect(world.ask(challenge403(scope: "write", rejecting: old)) == .serve)
        #expect(world.signIns.count == 2)
    }

    /// Accumulated requested scopes survive a lost grant and come back on the next sign-in.
    @Test func requestedScopesSurviveLosingTheTokens() {
        var world = World()
        world.ask(TokenRequest(neededScopes: scopes("a")))
        world.ask(challenge403(scope: "b", rejecting: world.currentToken))
        world.machine.tokensForgotten()
        #expect(world.ask(TokenRequest(neededScopes: scopes("a"))) == .authorize(scopes: scopes("a b")))
    }

    /// `tokenbroker login` always signs in, even after the limit was reached.
    @Test func explicitSignInOverridesTheLimitAndRefusals() {
        var world = World()
        world.ask(TokenRequest(neededScopes: scopes("read write")), grantScope: "read")
        #expect(world.ask(TokenRequest(neededScopes: scopes("write"))) == .fail(.scopesRefused(scopes("write"))))
        let login = TokenRequest(neededScopes: scopes("write"), explicitSignIn: true)
        #expect(world.ask(login) == .authorize(scopes: scopes("read write")))
    }
}

@Suite struct GrantPlannerLifetimeTests {
    @Test func cacheHitWhileValidForMinimumValidity() {
        var world = World()
        world.ask(TokenRequest(neededScopes: scopes("a")), expiresIn: 100)
        world.advance(60)
        #expect(world.ask(TokenRequest(neededScopes: scopes("a"), minimumValidity: 30)) == .serve)
        #expect(world.ask(TokenRequest(neededScopes: scopes("a"), minimumValidity: 41)) == .refresh)
    }

    /// A client asking more validity than the server ever grants gets at most half the
    /// lifetime; otherwise every request would refresh.
    @Test func minimumValidityIsCappedAtHalfTheLifetime() {
        var world = World()
        world.ask(TokenRequest(neededScopes: scopes("a")), expiresIn: 3600)
        #expect(world.ask(TokenRequest(neededScopes: scopes("a"), minimumValidity: 7200)) == .serve)
        world.advance(1799)
        #expect(world.ask(TokenRequest(neededScopes: scopes("a"), minimumValidity: 7200)) == .serve)
        world.advance(2)
        #expect(world.ask(TokenRequest(neededScopes: scopes("a"), minimumValidity: 7200)) == .refresh)
        #expect(world.ask(TokenRequest(neededScopes: scopes("a"), minimumValidity: 7200)) == .serve)
    }

    @Test func expiredTokenIsRefreshedWithoutASignIn() {
        var world = World()
        world.ask(TokenRequest(neededScopes: scopes("a")), expiresIn: 10)
        world.advance(3600)
        #expect(world.ask(TokenRequest(neededScopes: scopes("a"))) == .refresh)
        #expect(world.ask(TokenRequest(neededScopes: scopes("a"))) == .serve)
        #expect(world.signIns.count == 1)
    }

    @Test func expiredTokenWithoutRefreshTokenNeedsASignIn() {
        var world = World()
        world.ask(TokenRequest(neededScopes: scopes("a")), expiresIn: 10, refreshToken: false)
        world.advance(3600)
        #expect(world.ask(TokenRequest(neededScopes: scopes("a"))) == .authorize(scopes: scopes("a")))
    }

    @Test func tokenWithoutLifetimeIsServedUntilRejected() {
        var world = World()
        world.ask(TokenRequest(), expiresIn: 0)
        world.advance(365 * 24 * 3600)
        #expect(world.ask(TokenRequest()) == .serve)
    }

    /// 401 with the current token: drop it and refresh, once; then sign in.
    @Test func unauthorizedWithCurrentTokenRefreshesOnceThenSignsIn() {
        var world = World()
        world.ask(challenge401(scope: "a"))
        var rejected = challenge401()
        rejected.rejectedToken = world.currentToken
        #expect(world.ask(rejected) == .refresh)
        rejected.rejectedToken = world.currentToken
        #expect(world.ask(rejected) == .authorize(scopes: scopes("a")))
    }

    /// A client that reports each expiry with a 401 (and never asks in between) gets a
    /// refresh every time, not a sign-in every other hour.
    @Test func unauthorizedForAnExpiredTokenAlwaysRefreshes() {
        var world = World()
        world.ask(challenge401(scope: "a"))
        for _ in 0..<3 {
            world.advance(3660)
            var expired = challenge401()
            expired.rejectedToken = world.currentToken
            #expect(world.ask(expired) == .refresh)
        }
        #expect(world.signIns.count == 1)
    }

    /// 401 about an older token: the current one is still good.
    @Test func unauthorizedWithAnOlderTokenIsServedTheCurrentOne() {
        var world = World()
        world.ask(challenge401(scope: "a"))
        let old = world.currentToken
        world.advance(7200)
        world.ask(TokenRequest())  // refreshed
        var stale = challenge401()
        stale.rejectedToken = old
        #expect(world.ask(stale) == .serve)
    }

    /// A server that answers 401 to every token cannot loop the broker.
    @Test func endlessUnauthorizedIsBounded() {
        var world = World()
        var actions: [GrantAction] = []
        for _ in 0..<10 {
            var request = challenge401(scope: "a")
            request.rejectedToken = world.currentToken
            actions.append(world.ask(request))
        }
        #expect(world.signIns.count == 3)
        #expect(actions.filter { $0 == .refresh }.count == 1)
        #expect(actions.last == .fail(.authorizationLimitReached(attempts: 3)))
    }
}

/// A client acting on its own behalf (client credentials, SEP-1046): the same rules, with
/// the token endpoint asked again where a person would sign in.
@Suite struct ClientCredentialsPlanningTests {
    /// No sign-in ever; no offline_access (there is nobody to stay signed in for).
    @Test func aTokenIsAskedForWithoutASignIn() {
        var world = World(prm: "mcp:read", authorizationServer: "offline_access mcp:read", clientCredentials: true)
        #expect(world.ask(challenge401()) == .authorize(scopes: scopes("mcp:read")))
        #expect(world.signIns.isEmpty)
        #expect(world.clientCredentialsRequests == [["mcp:read"]])
        #expect(world.grant?.clientID == "cc-client")
        #expect(world.ask(TokenRequest()) == .serve)
    }

    /// Renewal is not a step-up: a token that expires again and again, with no use
    /// confirmed in between, is renewed every time (the sign-in limit would stop it after
    /// three), for the scopes asked so far and nothing more.
    @Test func expiryRenewsAsOftenAsItHappens() {
        var world = World(clientCredentials: true)
        world.ask(TokenRequest(neededScopes: scopes("files:read")), refreshToken: false)
        // Each on a new connection, such as `tokenbroker token` runs: none confirms a use.
        for connection in 1...6 {
            world.advance(7200)
            #expect(world.ask(TokenRequest(neededScopes: scopes("files:read")), on: connection, refreshToken: false)
                == .authorize(scopes: scopes("files:read")))
        }
        #expect(world.clientCredentialsRequests.count == 7)
        #expect(world.machine.ledger.authorizations == 1)
    }

    /// SEP-2350 union on a 403, asked of the token endpoint.
    @Test func aStepUpAsksForTheUnion() {
        var world = World(clientCredentials: true)
        world.ask(TokenRequest(neededScopes: scopes("files:read")), refreshToken: false)
        let held = world.currentToken
        #expect(world.ask(challenge403(scope: "files:write", rejecting: held), refreshToken: false)
            == .authorize(scopes: scopes("files:read files:write")))
        #expect(world.grant?.grantedScopes == scopes("files:read files:write"))
    }

    /// A server that refuses every token stops the broker after three requests in a row,
    /// as it stops sign-ins.
    @Test func aServerThatRefusesEveryTokenIsNotAskedForever() {
        var world = World(clientCredentials: true)
        world.ask(TokenRequest(), refreshToken: false)
        var outcomes: [GrantAction] = []
        for _ in 0..<6 { outcomes.append(world.ask(challenge401(), refreshToken: false)) }
        #expect(outcomes.contains(.fail(.authorizationLimitReached(attempts: StepUpLedger.maximumAuthorizations))))
        #expect(world.clientCredentialsRequests.count <= 1 + 1 + StepUpLedger.maximumAuthorizations)
    }

    /// A server that issues a refresh token anyway: it is used.
    @Test func aRefreshTokenIsUsedWhenIssued() {
        var world = World(clientCredentials: true)
        world.ask(TokenRequest())
        world.advance(7200)
        #expect(world.ask(TokenRequest()) == .refresh)
        #expect(world.clientCredentialsRequests.count == 1)
    }
}
