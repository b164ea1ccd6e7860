import Foundation
import Testing
import TokenBrokerCore

/// The per-resource state machine's events, driven as the daemon's actor drives them:
/// several requests at once, refusals, and what each leaves behind.
@Suite struct ResourceStateMachineTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let resource = try! ResourceURI("https://rs.example/mcp", policy: .strict)

    /// A machine holding a grant for `granted` whose token expired an hour ago.
    static func expiredGrant(granted: String = "read") -> ResourceStateMachine {
        let scopes = try! ScopeSet(parsing: granted)
        let grant = Grant(
            resource: resource, issuer: "https://as.example", requestedScopes: scopes, grantedScopes: scopes,
            accessToken: Secret("at-old"), accessTokenExpiresAt: start.addingTimeInterval(-3600),
            refreshToken: Secret("rt-old"), createdAt: start.addingTimeInterval(-7200), updatedAt: start.addingTimeInterval(-7200))
        return ResourceStateMachine(resource: resource, grant: grant, sources: ScopeSources())
    }

    static func tokens(_ n: Int, scope: String? = nil) -> TokenResponse {
        TokenResponse(
            accessToken: Secret("at-\(n)"), expiresIn: 3600, refreshToken: Secret("rt-\(n)"),
            scope: scope.map { try! ScopeSet(parsing: $0) })
    }

    /// One refresh for two requests: the second waits for the first's, and is served its
    /// token without asking the server again.
    @Test func concurrentRequestsShareOneRefresh() throws {
        var machine = Self.expiredGrant()
        var (first, _) = machine.begin(TokenRequest())
        var (second, _) = machine.begin(TokenRequest())
        guard case .refresh(let order) = machine.next(&first, now: Self.start) else { throw Failure("no refresh") }
        #expect(order.refreshToken == Secret("rt-old"))
        #expect(machine.next(&second, now: Self.start) == .awaitRefresh)
        guard case .storeRotation(let next, let replacing, _) = machine.refreshAnswered(.issued(Self.tokens(1)), now: Self.start)
        else { throw Failure("no rotation") }
        #expect(replacing == Secret("rt-old"))
        machine.rotationStored(next, swapped: true, stored: nil)
        #expect(machine.next(&second, now: Self.start) == .serve(next))
        #expect(second.origin == .refreshed)
        #expect(machine.next(&first, now: Self.start) == .serve(next))
        #expect(!machine.isRefreshing)
    }

    /// Another process rotated the token first: its stored grant wins over this answer.
    @Test func lostRotationAdoptsTheStoredGrant() throws {
        var machine = Self.expiredGrant()
        var (attempt, _) = machine.begin(TokenRequest())
        _ = machine.next(&attempt, now: Self.start)
        guard case .storeRotation(let mine, _, _) = machine.refreshAnswered(.issued(Self.tokens(1)), now: Self.start)
        else { throw Failure("no rotation") }
        var theirs = mine
        theirs.accessToken = Secret("at-theirs")
        theirs.refreshToken = Secret("rt-theirs")
        machine.rotationStored(mine, swapped: false, stored: theirs)
        #expect(machine.grant?.accessToken == Secret("at-theirs"))
        #expect(machine.next(&attempt, now: Self.start) == .serve(theirs))
    }

    /// How each refused refresh is classified, and what the stored grant decides.
    @Test(arguments: [
        // status, error, the stored grant was rotated meanwhile, expected effect, verdict
        (400, "invalid_grant", false, RefreshEffect.readStoredGrant(dropRegistration: false), RefusalVerdict?.some(.forgetTokens)),
        (400, "invalid_grant", true, .readStoredGrant(dropRegistration: false), .some(.adopted)),
        (401, "invalid_client", false, .readStoredGrant(dropRegistration: true), .some(.forgetTokens)),
        (401, nil, false, .readStoredGrant(dropRegistration: false), .some(.forgetTokens)),
        (400, "invalid_request", false,
         .fail(.refused(OAuthRefusal(step: .refresh, status: 400, error: "invalid_request"))), nil),
        (503, nil, false, .fail(.refused(OAuthRefusal(step: .refresh, status: 503, error: nil))), nil),
    ] as [(Int, String?, Bool, RefreshEffect, RefusalVerdict?)])
    func refusedRefresh(status: Int, error: String?, rotatedMeanwhile: Bool, effect: RefreshEffect, verdict: RefusalVerdict?) {
        var machine = Self.expiredGrant()
        let held = machine.grant!
        var (attempt, _) = machine.begin(TokenRequest())
        _ = machine.next(&attempt, now: Self.start)
        let answer = TokenEndpointAnswer.refused(status: status, error: error.map { OAuthErrorCode(rawValue: $0) })
        #expect(machine.refreshAnswered(answer, now: Self.start) == effect)
        guard let verdict else {
            #expect(!machine.isRefreshing)
            #expect(machine.grant == held)
            return
        }
        var stored = held
        if rotatedMeanwhile { stored.refreshToken = Secret("rt-theirs") }
        #expect(machine.storedGrantRead(stored) == verdict)
        if verdict == .forgetTokens {
            machine.tokensForgotten()
            #expect(machine.grant?.refreshToken == nil && machine.grant?.accessToken == nil)
            // The scopes asked for so far survive: the sign-in asks for them again.
            #expect(machine.next(&attempt, now: Self.start) == .startSignIn(scopes: try! ScopeSet(parsing: "read")))
        } else {
            #expect(machine.grant?.refreshToken == Secret("rt-theirs"))
        }
        #expect(!machine.isRefreshing || verdict == .forgetTokens)
    }

    /// A refresh that ends without an answer (the server is down) leaves the grant as it was
    /// and the next request may refresh again.
    @Test func abandonedRefreshCanBeRetried() throws {
        var machine = Self.expiredGrant()
        var (attempt, _) = machine.begin(TokenRequest())
        _ = machine.next(&attempt, now: Self.start)
        machine.refreshAbandoned()
        var (again, _) = machine.begin(TokenRequest())
        guard case .refresh = machine.next(&again, now: Self.start) else { throw Failure("no second refresh") }
    }

    /// Two requests, one sign-in: the one that started it retries once after the server
    /// condemned the registration; the one that joined it gets the failure.
    @Test func signInRefusedForTheRegistrationIsRetriedOnceByItsStarter() {
        var machine = ResourceStateMachine(resource: Self.resource, grant: nil, sources: ScopeSources())
        let scopes = try! ScopeSet(parsing: "files:read")
        var (starter, _) = machine.begin(TokenRequest(neededScopes: scopes))
        var (joiner, _) = machine.begin(TokenRequest(neededScopes: scopes))
        #expect(machine.next(&starter, now: Self.start) == .startSignIn(scopes: scopes))
        #expect(machine.next(&joiner, now: Self.start) == .joinSignIn)
        machine.signInEnded(storing: nil)
        #expect(machine.signInJoined(&joiner, outcome: .failed(.invalidScope), scopes: scopes) == .giveUp)
        #expect(machine.signInJoined(&starter, outcome: .failed(.invalidScope), scopes: scopes) == .planAgain)
        #expect(machine.next(&starter, now: Self.start) == .startSignIn(scopes: scopes))
        machine.signInEnded(storing: nil)
        #expect(machine.signInJoined(&starter, outcome: .failed(.invalidScope), scopes: scopes) == .giveUp)
    }

    /// A person declining is final for everyone, also for the request that started it.
    @Test func declinedSignInIsNotRetried() {
        var machine = ResourceStateMachine(resource: Self.resource, grant: nil, sources: ScopeSources())
        var (attempt, _) = machine.begin(TokenRequest())
        _ = machine.next(&attempt, now: Self.start)
        machine.signInEnded(storing: nil)
        #expect(machine.signInJoined(&attempt, outcome: .failed(.accessDenied), scopes: []) == .giveUp)
    }

    /// A sign-in for fewer scopes than a joiner needs does not answer it: it plans again.
    @Test func narrowerSignInDoesNotAnswerAWiderRequest() {
        var machine = ResourceStateMachine(resource: Self.resource, grant: nil, sources: ScopeSources())
        var (first, _) = machine.begin(TokenRequest(neededScopes: try! ScopeSet(parsing: "a")))
        var (wider, _) = machine.begin(TokenRequest(neededScopes: try! ScopeSet(parsing: "a b")))
        #expect(machine.next(&first, now: Self.start) == .startSignIn(scopes: try! ScopeSet(parsing: "a")))
        #expect(machine.next(&wider, now: Self.start) == .joinSignIn)
        guard case .storeGrant(let grant) = machine.codeExchangeAnswered(
            .issued(Self.tokens(1)), issuer: "https://as.example", clientID: "client-1", scopes: try! ScopeSet(parsing: "a"), now: Self.start)
        else { Issue.record("no grant"); return }
        // The tokens belong to the client that exchanged the code (RFC 6749 §6).
        #expect(grant.clientID == "client-1")
        machine.signInEnded(storing: grant)
        #expect(machine.signInJoined(&first, outcome: .signedIn(grant), scopes: try! ScopeSet(parsing: "a")) == .serve(grant))
        #expect(first.origin == .signIn)
        #expect(machine.signInJoined(&wider, outcome: .signedIn(grant), scopes: try! ScopeSet(parsing: "a")) == .planAgain)
        #expect(machine.next(&wider, now: Self.start) == .startSignIn(scopes: try! ScopeSet(parsing: "a b")))
    }

    /// A code exchange refused with `invalid_client` drops the registration; other refusals keep it.
    @Test(arguments: [("invalid_client", true), ("invalid_grant", false)])
    func refusedCodeExchange(error: String, dropsRegistration: Bool) {
        let machine = ResourceStateMachine(resource: Self.resource, grant: nil, sources: ScopeSources())
        let effect = machine.codeExchangeAnswered(
            .refused(status: 400, error: OAuthErrorCode(rawValue: error)), issuer: "https://as.example", clientID: "client-1", scopes: [], now: Self.start)
        #expect(effect == .fail(
            OAuthRefusal(step: .codeExchange, status: 400, error: OAuthErrorCode(rawValue: error)), dropRegistration: dropsRegistration))
    }

    /// A 401 that arrived while nothing was held condemns no token: not the one the
    /// sign-in it caused brings.
    @Test func challengeWithoutAHeldTokenDoesNotCondemnTheNextOne() {
        var machine = ResourceStateMachine(resource: Self.resource, grant: nil, sources: ScopeSources())
        let challenge = TokenRequest(challenge: BearerChallenge(error: "invalid_token"), status: 401)
        var (first, checkServer) = machine.begin(challenge)
        var (second, _) = machine.begin(challenge)
        #expect(!checkServer)
        #expect(machine.next(&first, now: Self.start) == .startSignIn(scopes: []))
        guard case .storeGrant(let grant) = machine.codeExchangeAnswered(
            .issued(Self.tokens(1)), issuer: "https://as.example", clientID: "client-1", scopes: [], now: Self.start)
        else { Issue.record("no grant"); return }
        machine.signInEnded(storing: grant)
        #expect(machine.signInJoined(&first, outcome: .signedIn(grant), scopes: []) == .serve(grant))
        // The second request's challenge was about no token of ours: it is served the new
        // one, not sent to refresh it.
        #expect(machine.next(&second, now: Self.start) == .serve(grant))
    }

    /// A 401 for the token held asks to re-read the resource's metadata (SEP-2352); when
    /// it names another server, the grant starts over there with the scopes asked so far.
    @Test func authorizationServerMigrationKeepsRequestedScopes() {
        var machine = Self.expiredGrant(granted: "read write")
        let (_, checkServer) = machine.begin(TokenRequest(status: 401, rejectedToken: Secret("at-old")))
        #expect(checkServer)
        machine.authorizationServerChanged(to: "https://as2.example", stored: nil, now: Self.start)
        #expect(machine.grant?.issuer == "https://as2.example")
        #expect(machine.grant?.requestedScopes == (try! ScopeSet(parsing: "read write")))
        #expect(machine.grant?.accessToken == nil && machine.grant?.refreshToken == nil)
        #expect(machine.ledger == StepUpLedger())
    }

    /// Revocation forgets tokens and the scope history.
    @Test func revocationForgetsTheScopeHistory() {
        var machine = Self.expiredGrant(granted: "read write")
        machine.revoked()
        #expect(machine.grant?.requestedScopes == [] && machine.grant?.grantedScopes == [])
        #expect(machine.grant?.accessToken == nil && machine.grant?.refreshToken == nil)
    }

    /// A request cannot be stepped forever.
    @Test func aRequestStopsAfterTheMostSteps() {
        var machine = Self.expiredGrant()
        var (attempt, _) = machine.begin(TokenRequest())
        _ = machine.next(&attempt, now: Self.start)  // the refresh never ends
        var steps: [TokenStep] = []
        for _ in 0..<ResourceStateMachine.maximumSteps { steps.append(machine.next(&attempt, now: Self.start)) }
        #expect(steps.dropLast().allSatisfy { $0 == .awaitRefresh })
        #expect(steps.last == .fail(.unsettled))
    }
}

private struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
