import Foundation
import Testing
import TokenBrokerCore

/// Exact-scope tokens (`token/get` `exactScopes`): a token of only the scopes a client
/// names, refreshed from the shared grant with `scope` (RFC 6749 §6), held per scope set;
/// the grant keeps the union and its own token.
@Suite struct ExactScopeTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let resource = try! ResourceURI("https://rs.example/mcp", policy: .strict)

    /// A machine holding a valid grant for "read write".
    static func machine() -> ResourceStateMachine {
        let scopes = try! ScopeSet(parsing: "read write")
        let grant = Grant(
            resource: resource, issuer: "https://as.example", requestedScopes: scopes, grantedScopes: scopes,
            accessToken: Secret("at-union"), accessTokenExpiresAt: start.addingTimeInterval(3600),
            refreshToken: Secret("rt-1"), createdAt: start, updatedAt: start)
        return ResourceStateMachine(resource: resource, grant: grant, sources: ScopeSources())
    }

    static let read = try! ScopeSet(parsing: "read")
    static func exact(_ scopes: ScopeSet = read) -> TokenRequest { TokenRequest(neededScopes: scopes, exactScopes: true) }

    static func narrowed(_ n: Int, scope: String?, refreshToken: String? = nil) -> TokenEndpointAnswer {
        .issued(TokenResponse(
            accessToken: Secret("at-narrow-\(n)"), expiresIn: 600, refreshToken: refreshToken.map(Secret.init),
            scope: scope.map { try! ScopeSet(parsing: $0) }))
    }

    @Test func aNarrowerTokenIsRefreshedOnceAndHeld() throws {
        var machine = Self.machine()
        var (attempt, _) = machine.begin(Self.exact())
        guard case .refresh(let order) = machine.next(&attempt, now: Self.start) else { throw Failure("no refresh") }
        #expect(order.narrowing == Self.read)
        #expect(order.refreshToken == Secret("rt-1"))
        // Another request for the same scopes waits for it: one refresh at a time.
        var (second, _) = machine.begin(Self.exact())
        #expect(machine.next(&second, now: Self.start) == .awaitRefresh)
        #expect(machine.refreshAnswered(Self.narrowed(1, scope: "read"), now: Self.start) == .done)
        guard case .serve(let served) = machine.next(&attempt, now: Self.start) else { throw Failure("not served") }
        #expect(served.accessToken == Secret("at-narrow-1"))
        #expect(served.grantedScopes == Self.read)
        guard case .serve(let again) = machine.next(&second, now: Self.start) else { throw Failure("not served") }
        #expect(again.accessToken == Secret("at-narrow-1"))
        // The grant keeps the union and its own token.
        #expect(machine.grant?.accessToken == Secret("at-union"))
        #expect(machine.grant?.grantedScopes == (try ScopeSet(parsing: "read write")))
        // A request that is not exact gets the grant's token.
        var (plain, _) = machine.begin(TokenRequest(neededScopes: Self.read))
        #expect(machine.next(&plain, now: Self.start) == .serve(machine.grant!))
        // Expired: refreshed again.
        var (later, _) = machine.begin(Self.exact())
        guard case .refresh = machine.next(&later, now: Self.start.addingTimeInterval(900)) else { throw Failure("no refresh") }
    }

    /// A client credentials client has no refresh token: it asks the token endpoint for
    /// exactly the scopes, as itself, and the token is held apart from the grant; a server
    /// that answers with other scopes, or refuses, is `scope_unattainable`.
    @Test func aClientCredentialsClientAsksForExactlyTheScopes() throws {
        var machine = Self.machine()
        var grant = try #require(machine.grant)
        grant.refreshToken = nil
        machine = ResourceStateMachine(resource: Self.resource, grant: grant, sources: ScopeSources())
        machine.usesClientCredentials = true
        var (attempt, _) = machine.begin(Self.exact())
        #expect(machine.next(&attempt, now: Self.start) == .requestClientCredentials(scopes: Self.read))
        var (second, _) = machine.begin(Self.exact())
        #expect(machine.next(&second, now: Self.start) == .awaitRefresh)
        #expect(machine.clientCredentialsAnswered(
            Self.narrowed(1, scope: nil), issuer: "https://as.example", clientID: "ci", scopes: Self.read, now: Self.start)
            == .narrowed(nil))
        machine.clientCredentialsEnded(storing: nil)
        guard case .serve(let served) = machine.next(&attempt, now: Self.start) else { throw Failure("not served") }
        #expect(served.accessToken == Secret("at-narrow-1"))
        #expect(served.grantedScopes == Self.read)
        guard case .serve(let again) = machine.next(&second, now: Self.start) else { throw Failure("not served") }
        #expect(again.accessToken == Secret("at-narrow-1"))
        #expect(machine.grant?.accessToken == Secret("at-union"))

        let write = try ScopeSet(parsing: "write")
        var (other, _) = machine.begin(Self.exact(write))
        #expect(machine.next(&other, now: Self.start) == .requestClientCredentials(scopes: write))
        guard case .narrowed(.scopeUnattainable?) = machine.clientCredentialsAnswered(
            Self.narrowed(2, scope: "read write"), issuer: "https://as.example", clientID: "ci", scopes: write, now: Self.start)
        else { throw Failure("a wider token was held") }
        machine.clientCredentialsEnded(storing: nil)
        var (refusedAttempt, _) = machine.begin(Self.exact(write))
        #expect(machine.next(&refusedAttempt, now: Self.start) == .requestClientCredentials(scopes: write))
        guard case .narrowed(.scopeUnattainable?) = machine.clientCredentialsAnswered(
            .refused(status: 400, error: .invalidScope), issuer: "https://as.example", clientID: "ci", scopes: write, now: Self.start)
        else { throw Failure("a refusal was not scope_unattainable") }
    }

    /// Asking exactly for what the grant holds is the grant's own token.
    @Test func exactlyTheGrantIsTheGrant() {
        var machine = Self.machine()
        var (attempt, _) = machine.begin(Self.exact(try! ScopeSet(parsing: "write read")))
        #expect(machine.next(&attempt, now: Self.start) == .serve(machine.grant!))
    }

    /// A rotated refresh token is stored whatever happens to the narrowing: under rotation
    /// the one sent is dead. Only the refresh token changes.
    @Test func aRotationIsStoredAndTheGrantKeepsItsToken() throws {
        var machine = Self.machine()
        var (attempt, _) = machine.begin(Self.exact())
        _ = machine.next(&attempt, now: Self.start)
        guard case .storeRotation(let next, let replacing, let thenFail) =
            machine.refreshAnswered(Self.narrowed(1, scope: nil, refreshToken: "rt-2"), now: Self.start)
        else { throw Failure("no rotation") }
        #expect(replacing == Secret("rt-1"))
        #expect(thenFail == nil)
        #expect(next.refreshToken == Secret("rt-2"))
        #expect(next.accessToken == Secret("at-union"))
        #expect(next.grantedScopes == (try ScopeSet(parsing: "read write")))
        machine.rotationStored(next, swapped: true, stored: nil)
        guard case .serve(let served) = machine.next(&attempt, now: Self.start) else { throw Failure("not served") }
        #expect(served.accessToken == Secret("at-narrow-1"))
    }

    /// A server that answers with more than was asked did not narrow: a clear failure,
    /// and the token is not handed out as an exact one.
    @Test func aServerThatDoesNotNarrowIsAClearFailure() throws {
        var machine = Self.machine()
        var (attempt, _) = machine.begin(Self.exact())
        _ = machine.next(&attempt, now: Self.start)
        guard case .fail(.scopeUnattainable(.notNarrowed(let scopes, _))) =
            machine.refreshAnswered(Self.narrowed(1, scope: "read write"), now: Self.start)
        else { throw Failure("not refused") }
        #expect(scopes == Self.read)
        // With a rotation, stored first, then the failure.
        var (again, _) = machine.begin(Self.exact())
        _ = machine.next(&again, now: Self.start)
        guard case .storeRotation(_, _, .some(.scopeUnattainable(.notNarrowed))) =
            machine.refreshAnswered(Self.narrowed(2, scope: "read write", refreshToken: "rt-2"), now: Self.start)
        else { throw Failure("no rotation before the failure") }
    }

    /// `invalid_scope`: the server refuses to narrow; the grant is untouched.
    @Test func aRefusedNarrowingKeepsTheGrant() throws {
        var machine = Self.machine()
        var (attempt, _) = machine.begin(Self.exact())
        _ = machine.next(&attempt, now: Self.start)
        guard case .fail(.scopeUnattainable(.notNarrowed(_, let why))) =
            machine.refreshAnswered(.refused(status: 400, error: .invalidScope), now: Self.start)
        else { throw Failure("not refused") }
        #expect(why.contains("invalid_scope"))
        #expect(machine.grant?.refreshToken == Secret("rt-1"))
        #expect(!machine.isRefreshing)
    }

    /// Scopes the grant lacks: a sign-in for the union first (the grant grows), then the
    /// narrowing.
    @Test func missingScopesAreSignedInForFirst() throws {
        var machine = Self.machine()
        let admin = try ScopeSet(parsing: "admin")
        var (attempt, _) = machine.begin(Self.exact(admin))
        guard case .startSignIn(let scopes) = machine.next(&attempt, now: Self.start) else { throw Failure("no sign-in") }
        #expect(scopes.hasSameMembers(as: try ScopeSet(parsing: "admin read write")))
    }

    /// Ever new subsets of the grant's scopes hold at most a bounded number of tokens:
    /// the oldest is let go, and asked for again, it is refreshed anew.
    @Test func heldNarrowTokensAreBounded() throws {
        let names = (0..<6).map { "s\($0)" }
        let all = try ScopeSet(parsing: names.joined(separator: " "))
        var machine = ResourceStateMachine(
            resource: Self.resource,
            grant: Grant(
                resource: Self.resource, issuer: "https://as.example", requestedScopes: all, grantedScopes: all,
                accessToken: Secret("at-union"), accessTokenExpiresAt: Self.start.addingTimeInterval(3600),
                refreshToken: Secret("rt-1"), createdAt: Self.start, updatedAt: Self.start),
            sources: ScopeSources())
        // Distinct non-empty proper subsets, one refresh each.
        let subsets = (1..<63).map { mask in ScopeSet(names.indices.filter { mask & (1 << $0) != 0 }.map { Scope(rawValue: names[$0])! }) }
        for (n, subset) in subsets.prefix(ResourceStateMachine.maximumNarrowedTokens + 1).enumerated() {
            var (attempt, _) = machine.begin(TokenRequest(neededScopes: subset, exactScopes: true))
            guard case .refresh = machine.next(&attempt, now: Self.start.addingTimeInterval(Double(n))) else { throw Failure("no refresh") }
            _ = machine.refreshAnswered(Self.narrowed(n, scope: subset.spaceDelimited), now: Self.start.addingTimeInterval(Double(n)))
        }
        // The first was let go; the last is held.
        var (first, _) = machine.begin(TokenRequest(neededScopes: subsets[0], exactScopes: true))
        guard case .refresh = machine.next(&first, now: Self.start.addingTimeInterval(40)) else { throw Failure("the oldest is still held") }
        _ = machine.refreshAnswered(.refused(status: 400, error: .invalidScope), now: Self.start.addingTimeInterval(40))
        var (last, _) = machine.begin(
            TokenRequest(neededScopes: subsets[ResourceStateMachine.maximumNarrowedTokens], exactScopes: true))
        guard case .serve = machine.next(&last, now: Self.start.addingTimeInterval(41)) else { throw Failure("the newest is not held") }
    }
}

private struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
