#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

/// Every decision the broker makes for one resource server, as a value: what the grant is,
/// whether a refresh or a sign-in is in flight, and what each token request does next.
///
/// The shape of AsyncHTTPClient's `Transaction.StateMachine`: one mutating method per
/// event (a request arrives, a refresh was answered, a sign-in ended, the resource moved
/// to another authorization server, the grant was revoked), each returning what to do.
/// It performs no I/O and reads no clock; the daemon's `ResourceSession` actor performs
/// the actions (HTTP, SQLite, the browser) and feeds their results back.
///
/// A token request is a ``TokenAttempt`` that the caller keeps while it works: ``begin(_:confirmedUse:)``
/// makes one, ``next(_:now:)`` says its next step until it is served or fails. While a
/// refresh or a sign-in is in flight every other attempt is told to wait for it, so there
/// is one refresh and one sign-in per resource at a time (rotation-safe refresh).
///
/// Long (about 600 lines) on purpose: it is every decision for a resource, and one file
/// keeps each event's handling next to the state it changes, as AsyncHTTPClient does.
package struct ResourceStateMachine: Sendable {
    /// The most steps one request takes before the machine gives up (a refresh, a sign-in,
    /// a retry after re-registration and the waits between need far fewer).
    package static let maximumSteps = 8

    /// The resource server this machine decides for.
    package let resource: ResourceURI
    /// What the broker holds: the grant as last stored.
    package private(set) var grant: Grant?
    /// Scope fallbacks from the latest discovery.
    package var sources: ScopeSources
    /// Sign-ins and rejection-driven refreshes since the last successful use.
    package private(set) var ledger = StepUpLedger()
    /// The resource's client acts on its own behalf (client credentials): tokens come from
    /// asking the token endpoint again, never from a person signing in.
    package var usesClientCredentials = false
    private var refresh = RefreshState.idle
    private var signIn = SignInState.idle
    /// Tokens narrowed to exactly a scope set (``TokenRequest/exactScopes``), from the
    /// grant's refresh token (or, for a client credentials client, by asking for exactly
    /// those scopes). Memory only: they are short-lived and cheap to make again.
    private var narrowed: [ScopeSet: NarrowedToken] = [:]

    private enum RefreshState: Sendable {
        case idle
        /// A refresh of `base` with its refresh token is being answered; with `narrowing`,
        /// one that asked for exactly those scopes.
        case inFlight(base: Grant, narrowing: ScopeSet?)
        /// A client credentials request is being answered; with `narrowing`, one for a
        /// token of exactly those scopes, held apart from the grant.
        case clientCredentials(narrowing: ScopeSet?)
    }

    private enum SignInState: Sendable {
        case idle
        /// A sign-in for `scopes` is starting (registering a client) or waiting for a person.
        case active(scopes: ScopeSet)
    }

    /// A machine for `resource`, holding `grant` as stored.
    package init(resource: ResourceURI, grant: Grant?, sources: ScopeSources) {
        self.resource = resource
        self.grant = grant
        self.sources = sources
    }

    /// True while a refresh (or a client credentials request) is being answered.
    package var isRefreshing: Bool {
        if case .idle = refresh { return false }
        return true
    }

    /// True while a sign-in is starting or waiting for a person.
    package var isSigningIn: Bool {
        if case .active = signIn { return true }
        return false
    }

    // MARK: - A token request

    /// A client request arrives. `confirmedUse`: a connection showed a successful use
    /// since the last request reached the machine (``ConnectionUseRecord``).
    ///
    /// Returns the attempt to pass to ``next(_:now:)``, and whether the request reports a 401
    /// for the current token, after which the protected resource metadata is read again
    /// (it may name another authorization server: ``authorizationServerChanged(to:stored:now:)``).
    package mutating func begin(_ request: TokenRequest, confirmedUse: Bool = false) -> (TokenAttempt, checkAuthorizationServer: Bool) {
        if confirmedUse { ledger.noteConfirmedUse() }
        var request = request
        // A challenge that names no token is about the token held when it arrived; when
        // none was held, about none of ours, so a token a sign-in brings later is not
        // condemned by the same challenge.
        if request.reportsChallenge, request.rejectedToken == nil {
            if let held = grant?.accessToken {
                request.rejectedToken = held
            } else {
                request.rejectsNoHeldToken = true
            }
        }
        let rejectsCurrent =
            request.status == 401 && grant?.accessToken != nil && request.rejectedToken == grant?.accessToken
        return (TokenAttempt(request: request), rejectsCurrent)
    }

    /// The attempt's next step. Call again after each wait, refresh or sign-in it was told
    /// to perform, until it is served or fails.
    package mutating func next(_ attempt: inout TokenAttempt, now: Date) -> TokenStep {
        attempt.steps += 1
        guard attempt.steps <= Self.maximumSteps else { return .fail(.unsettled) }
        if isRefreshing {
            // The token is as fresh as the server makes it: a lifetime shorter than the
            // asked validity must not make every waiter refresh again.
            attempt.joinedRefresh()
            return .awaitRefresh
        }
        if case .active = signIn { return .joinSignIn }
        let action = GrantPlanner.plan(
            attempt.request, grant: grant, sources: sources, ledger: &ledger, now: now, clientCredentials: usesClientCredentials)
        if let grant, attempt.request.exactScopes, action == .serve || action == .refresh,
            !grant.grantedScopes.hasSameMembers(as: attempt.request.neededScopes)
        {
            return narrow(grant, to: attempt.request.neededScopes, &attempt, now: now)
        }
        switch action {
        case .serve:
            guard let grant else { return .fail(.unsettled) }
            return .serve(grant)
        case .refresh where usesClientCredentials && grant?.refreshToken == nil:
            // Renewal: the same request as before, so the grant is never widened by it.
            return askForClientCredentials(grant?.requestedScopes ?? [], &attempt)
        case .authorize(let scopes) where usesClientCredentials:
            return askForClientCredentials(scopes, &attempt)
        case .refresh:
            guard let grant, let refreshToken = grant.refreshToken else { return .fail(.unsettled) }
            refresh = .inFlight(base: grant, narrowing: nil)
            attempt.joinedRefresh()
            return .refresh(
                RefreshOrder(
                    refreshToken: refreshToken, issuer: grant.issuer, clientID: grant.clientID,
                    requestedScopes: grant.requestedScopes))
        case .authorize(let scopes):
            signIn = .active(scopes: scopes)
            attempt.startedSignIn = true
            return .startSignIn(scopes: scopes)
        case .fail(let failure):
            return .fail(.scopeUnattainable(failure))
        }
    }

    /// A token of exactly `scopes`, which the grant covers: held, or refreshed for them.
    private mutating func narrow(_ grant: Grant, to asked: ScopeSet, _ attempt: inout TokenAttempt, now: Date) -> TokenStep {
        // One key per set of scopes, in whatever order they were named.
        let scopes = ScopeSet(asked.sorted { $0.rawValue < $1.rawValue })
        if let held = narrowed[scopes], held.issuer == grant.issuer,
            held.expiresAt.map({ Grant.stillValid(expiresAt: $0, issuedAt: held.issuedAt, minimumValidity: attempt.request.minimumValidity, at: now) }) ?? true
        {
            return .serve(held.served(from: grant, scopes: scopes))
        }
        guard let refreshToken = grant.refreshToken else {
            if usesClientCredentials {
                // The client asks for exactly these scopes itself (RFC 6749 §4.4.2).
                refresh = .clientCredentials(narrowing: scopes)
                attempt.joinedRefresh()
                return .requestClientCredentials(scopes: scopes)
            }
            return .fail(.scopeUnattainable(.notNarrowed(scopes, why: "the grant has no refresh token to ask for a narrower token with")))
        }
        refresh = .inFlight(base: grant, narrowing: scopes)
        attempt.joinedRefresh()
        return .refresh(
            RefreshOrder(
                refreshToken: refreshToken, issuer: grant.issuer, clientID: grant.clientID,
                requestedScopes: grant.requestedScopes, narrowing: scopes))
    }

    private mutating func askForClientCredentials(_ scopes: ScopeSet, _ attempt: inout TokenAttempt) -> TokenStep {
        refresh = .clientCredentials(narrowing: nil)
        attempt.joinedRefresh()
        return .requestClientCredentials(scopes: scopes)
    }

    // MARK: - Client credentials

    /// The token endpoint answered the client credentials request in flight, made at
    /// `issuer` as the client `clientID` for `scopes`.
    package mutating func clientCredentialsAnswered(
        _ answer: TokenEndpointAnswer, issuer: String, clientID: String, scopes: ScopeSet, now: Date
    ) -> ClientCredentialsEffect {
        if case .clientCredentials(let narrowing?) = refresh {
            return narrowedClientCredentialsAnswered(answer, issuer: issuer, scopes: narrowing, now: now)
        }
        switch answer {
        case .issued(let response):
            return .storeGrant(issued(response, at: issuer, to: clientID, round: .clientCredentials(requested: scopes), now: now))
        case .refused(let status, let error):
            // A configured client is never dropped: the operator fixes the config.
            return .fail(OAuthRefusal(step: .clientCredentials, status: status, error: error))
        }
    }

    /// A token of exactly `scopes` was asked for as the client: held when it is one, the
    /// grant untouched either way (it keeps the union and its own token).
    private mutating func narrowedClientCredentialsAnswered(
        _ answer: TokenEndpointAnswer, issuer: String, scopes: ScopeSet, now: Date
    ) -> ClientCredentialsEffect {
        switch answer {
        case .issued(let response):
            if let mismatch = Self.narrowingMismatch(response, asked: scopes) { return .narrowed(mismatch) }
            holdNarrowed(NarrowedToken(response, issuer: issuer, now: now), for: scopes, now: now)
            return .narrowed(nil)
        case .refused(let status, let error):
            return .narrowed(.scopeUnattainable(.notNarrowed(
                scopes, why: "the authorization server refused a token of these scopes (\(error?.description ?? "HTTP \(status)"))")))
        }
    }

    /// The client credentials request ended: with the grant it stored, or without one.
    package mutating func clientCredentialsEnded(storing grant: Grant?) {
        if let grant { self.grant = grant }
        refresh = .idle
    }

    // MARK: - Refresh

    /// The token endpoint answered the refresh in flight.
    package mutating func refreshAnswered(_ answer: TokenEndpointAnswer, now: Date) -> RefreshEffect {
        guard case .inFlight(let base, let narrowing) = refresh, let sent = base.refreshToken else {
            return .fail(.unsettled)
        }
        if let scopes = narrowing {
            return narrowingAnswered(answer, base: base, sent: sent, scopes: scopes, now: now)
        }
        switch answer {
        case .issued(let response):
            return .storeRotation(base.applying(response, round: .refresh, now: now), replacing: sent)
        case .refused(let status, let error):
            if error == .invalidGrant || error == .invalidClient || status == 401 {
                // Another process may have rotated the token meanwhile: the stored grant decides.
                return .readStoredGrant(dropRegistration: error == .invalidClient)
            }
            refresh = .idle
            return .fail(.refused(OAuthRefusal(step: .refresh, status: status, error: error)))
        }
    }

    /// A refresh that asked for exactly `scopes` was answered. Whatever the token, a
    /// rotated refresh token is stored: under rotation the one sent is dead.
    private mutating func narrowingAnswered(
        _ answer: TokenEndpointAnswer, base: Grant, sent: Secret, scopes: ScopeSet, now: Date
    ) -> RefreshEffect {
        switch answer {
        case .issued(let response):
            let failure = Self.narrowingMismatch(response, asked: scopes)
            if failure == nil { holdNarrowed(NarrowedToken(response, issuer: base.issuer, now: now), for: scopes, now: now) }
            var next = base
            next.refreshToken = response.refreshToken ?? base.refreshToken
            next.updatedAt = now
            guard response.refreshToken != nil, response.refreshToken != sent else {
                refresh = .idle
                return failure.map(RefreshEffect.fail) ?? .done
            }
            // Only the refresh token changes: the grant's own access token keeps the union.
            return .storeRotation(next, replacing: sent, thenFail: failure)
        case .refused(let status, let error):
            if error == .invalidGrant || error == .invalidClient || status == 401 {
                return .readStoredGrant(dropRegistration: error == .invalidClient)
            }
            refresh = .idle
            return .fail(.scopeUnattainable(.notNarrowed(
                scopes, why: "the authorization server refused to narrow the token (\(error?.description ?? "HTTP \(status)"))")))
        }
    }

    /// Why a token issued for exactly `asked` is not one, if it is not. RFC 6749 §5.1: an
    /// omitted scope is the scope asked for.
    private static func narrowingMismatch(_ response: TokenResponse, asked: ScopeSet) -> GrantFailure? {
        let granted = response.scope ?? asked
        guard !granted.hasSameMembers(as: asked) else { return nil }
        return .scopeUnattainable(.notNarrowed(
            asked, why: "the authorization server answered with \(granted.isEmpty ? "no scope" : granted.spaceDelimited)"))
    }

    /// The most exact-scope tokens held per resource: a client naming ever new subsets of
    /// the grant's scopes cannot grow the daemon's memory without bound.
    package static let maximumNarrowedTokens = 32

    private mutating func holdNarrowed(_ token: NarrowedToken, for scopes: ScopeSet, now: Date) {
        narrowed = narrowed.filter { $0.value.expiresAt.map { $0 > now } ?? true }
        if narrowed.count >= Self.maximumNarrowedTokens, narrowed[scopes] == nil,
            let oldest = narrowed.min(by: { $0.value.issuedAt < $1.value.issuedAt })?.key
        {
            narrowed[oldest] = nil
        }
        narrowed[scopes] = token
    }

    /// The rotated grant was offered to the store: `swapped` when it replaced the refresh
    /// token sent (else another writer got there first and `stored` is what it wrote).
    package mutating func rotationStored(_ next: Grant, swapped: Bool, stored: Grant?) {
        grant = swapped ? next : stored
        refresh = .idle
    }

    /// After a refused refresh, the grant as stored now. When it holds another refresh token
    /// someone rotated it meanwhile and it is adopted; otherwise the tokens are dead.
    package mutating func storedGrantRead(_ stored: Grant?) -> RefusalVerdict {
        guard case .inFlight(let base, _) = refresh else { return .adopted }
        if let stored, stored.refreshToken != base.refreshToken {
            grant = stored
            refresh = .idle
            return .adopted
        }
        return .forgetTokens
    }

    /// The dead tokens were deleted from the store: a sign-in is needed.
    package mutating func tokensForgotten() {
        grant?.accessToken = nil
        grant?.accessTokenExpiresAt = nil
        grant?.refreshToken = nil
        refresh = .idle
    }

    /// The refresh ended without an answer to classify (the server unreachable, storage failed).
    package mutating func refreshAbandoned() {
        refresh = .idle
    }

    // MARK: - Sign-in

    /// The authorization server's redirect was refused before any code exchange.
    /// Returns whether the client registration should be dropped so the next sign-in
    /// registers again.
    package func callbackRefused(_ error: AuthorizationResponseError) -> Bool {
        error.oauthError?.condemnsRegistration == true
    }

    /// The token endpoint answered the code exchange of a sign-in at `issuer`, made as the
    /// client `clientID`, that asked for `scopes`.
    package func codeExchangeAnswered(
        _ answer: TokenEndpointAnswer, issuer: String, clientID: String, scopes: ScopeSet, now: Date
    ) -> ExchangeEffect {
        switch answer {
        case .issued(let response):
            return .storeGrant(issued(response, at: issuer, to: clientID, round: .authorizationCode(requested: scopes), now: now))
        case .refused(let status, let error):
            return .fail(OAuthRefusal(step: .codeExchange, status: status, error: error), dropRegistration: error == .invalidClient)
        }
    }

    /// The grant a new round of tokens makes: the held one at `issuer` or a new one. The
    /// tokens belong to `clientID`, whatever the old ones belonged to.
    private func issued(_ response: TokenResponse, at issuer: String, to clientID: String, round: TokenRound, now: Date) -> Grant {
        var base = (grant?.issuer == issuer ? grant : nil) ?? Grant(resource: resource, issuer: issuer, createdAt: now, updatedAt: now)
        base.clientID = clientID
        return base.applying(response, round: round, now: now)
    }

    /// A sign-in started before a restart is waiting again for its callback or paste.
    /// Returns false when another sign-in is in flight already (the older one is dropped).
    package mutating func signInResumed(scopes: ScopeSet) -> Bool {
        guard case .idle = signIn else { return false }
        signIn = .active(scopes: scopes)
        return true
    }

    /// The sign-in in flight ended: with the grant it stored, or without one (refused,
    /// timed out, or it could not start).
    package mutating func signInEnded(storing grant: Grant?) {
        if let grant { self.grant = grant }
        signIn = .idle
    }

    /// An attempt that joined a sign-in learns how it ended. A sign-in that asked for
    /// everything the request needs is its answer, even when the server granted fewer
    /// scopes (RFC 6749 §5.1): planning again would refuse the narrowed grant, although a
    /// person just signed in for this very request.
    package mutating func signInJoined(_ attempt: inout TokenAttempt, outcome: SignInOutcome, scopes: ScopeSet) -> JoinVerdict {
        let started = attempt.startedSignIn
        attempt.startedSignIn = false
        switch outcome {
        case .signedIn(let signedIn):
            var needed = attempt.request.neededScopes
            if attempt.request.reportsChallenge { needed.formUnion(attempt.request.challenge?.scope ?? []) }
            guard scopes.isSuperset(of: needed) else { return .planAgain }
            attempt.origin = .signIn
            return .serve(signedIn)
        case .failed(let error):
            // The registration was too narrow or is gone (it was dropped when the server
            // said so): the request that started the sign-in registers and signs in once more.
            if started, !attempt.retriedRegistration, error?.condemnsRegistration == true {
                attempt.retriedRegistration = true
                return .planAgain
            }
            return .giveUp
        }
    }

    // MARK: - Other events

    /// The resource's metadata now names another authorization server (SEP-2352): nothing
    /// of the old one is used there. The grant starts over at `issuer` (with `stored`, a
    /// grant already held there), keeping the scopes asked for so far.
    package mutating func authorizationServerChanged(to issuer: String, stored: Grant?, now: Date) {
        let requested = grant?.requestedScopes ?? []
        grant = stored ?? Grant(resource: resource, issuer: issuer, requestedScopes: requested, createdAt: now, updatedAt: now)
        narrowed = [:]
        ledger.reset()
    }

    /// The grant was revoked: tokens and scope history are gone, so the next sign-in asks
    /// only for what is needed again.
    package mutating func revoked() {
        grant?.accessToken = nil
        grant?.accessTokenExpiresAt = nil
        grant?.refreshToken = nil
        grant?.requestedScopes = []
        grant?.grantedScopes = []
        narrowed = [:]
        ledger.reset()
    }
}

/// What it took to answer a token request, for the audit log.
package enum TokenOrigin: Sendable, Equatable {
    /// It was held already.
    case held
    /// A refresh (this request's or one it waited for) brought it.
    case refreshed
    /// A person signed in for it.
    case signIn
}

/// One token request on its way through a ``ResourceStateMachine``; the caller keeps it
/// between steps.
package struct TokenAttempt: Sendable {
    /// What is asked, as the machine understood it on arrival.
    package internal(set) var request: TokenRequest
    /// What it took so far.
    package internal(set) var origin = TokenOrigin.held
    var steps = 0
    var startedSignIn = false
    var retriedRegistration = false

    init(request: TokenRequest) {
        self.request = request
    }

    mutating func joinedRefresh() {
        origin = .refreshed
        request.minimumValidity = 0
    }
}

/// What a token request does next.
package enum TokenStep: Sendable, Equatable {
    /// Hand out this grant's access token.
    case serve(Grant)
    /// A refresh is in flight: wait for it to end, then ask for the next step.
    case awaitRefresh
    /// Refresh as ordered, report the answer with ``ResourceStateMachine/refreshAnswered(_:now:)``.
    case refresh(RefreshOrder)
    /// Ask the token endpoint as the client itself, report the answer with
    /// ``ResourceStateMachine/clientCredentialsAnswered(_:issuer:clientID:scopes:now:)``.
    /// An empty `scopes` leaves `scope` out.
    case requestClientCredentials(scopes: ScopeSet)
    /// Start a sign-in for `scopes` (empty: leave `scope` out), then join it.
    case startSignIn(scopes: ScopeSet)
    /// A sign-in is in flight: join it, then report with ``ResourceStateMachine/signInJoined(_:outcome:scopes:)``.
    case joinSignIn
    /// Give up.
    case fail(GrantFailure)
}

/// The refresh to perform; the issuer is the authorization server it goes to, fixed for
/// the whole refresh.
package struct RefreshOrder: Sendable, Equatable {
    /// The refresh token to send.
    package var refreshToken: Secret
    /// The authorization server that issued it.
    package var issuer: String
    /// The client it was issued to (``Grant/clientID``); `nil` when not recorded.
    package var clientID: String?
    /// Every scope asked for so far (a client registered for fewer must register again).
    package var requestedScopes: ScopeSet
    /// Ask for exactly these scopes (`scope` on the refresh, RFC 6749 §6); `nil`: leave
    /// `scope` out, which renews the grant as it is.
    package var narrowing: ScopeSet? = nil
}

/// An access token of exactly some of the grant's scopes.
struct NarrowedToken: Sendable, Equatable {
    var accessToken: Secret
    var issuer: String
    var issuedAt: Date
    var expiresAt: Date?

    /// The token of a response issued `now`, its lifetime capped as a grant's is.
    init(_ response: TokenResponse, issuer: String, now: Date) {
        accessToken = response.accessToken
        self.issuer = issuer
        issuedAt = now
        expiresAt = response.expiresIn.flatMap { $0 > 0 ? now.addingTimeInterval(min(TimeInterval($0), Grant.maximumTokenLifetime)) : nil }
    }

    /// The grant as a request for these scopes sees it: this token in place of its own.
    func served(from grant: Grant, scopes: ScopeSet) -> Grant {
        var served = grant
        served.accessToken = accessToken
        served.accessTokenExpiresAt = expiresAt
        served.grantedScopes = scopes
        served.updatedAt = issuedAt
        return served
    }
}

/// A token endpoint's answer, classified.
package enum TokenEndpointAnswer: Sendable, Equatable {
    /// HTTP 200 with a usable token response.
    case issued(TokenResponse)
    /// Any other status, with the OAuth error code when the body carried one.
    case refused(status: Int, error: OAuthErrorCode?)

    /// Classifies an HTTP answer. A 200 whose body is no usable token response throws.
    package init(status: Int, body: Data) throws(TokenResponseError) {
        if status == 200 {
            self = .issued(try TokenResponse.decode(body))
        } else {
            self = .refused(status: status, error: OAuthErrorResponse.decode(body)?.error)
        }
    }
}

/// What to do with a refresh answer.
package enum RefreshEffect: Sendable, Equatable {
    /// Store the rotated grant only if the stored refresh token is still `replacing`, then
    /// report with ``ResourceStateMachine/rotationStored(_:swapped:stored:)``, then fail
    /// with `thenFail` when given (a narrowing the server did not honour).
    case storeRotation(Grant, replacing: Secret, thenFail: GrantFailure? = nil)
    /// Nothing to store (a narrowed token is held now): ask for the next step.
    case done
    /// Read the stored grant (dropping the client registration first when told), then
    /// report with ``ResourceStateMachine/storedGrantRead(_:)``.
    case readStoredGrant(dropRegistration: Bool)
    /// The refresh failed for a reason a sign-in does not fix.
    case fail(GrantFailure)
}

/// What a refused refresh comes to once the stored grant is known.
package enum RefusalVerdict: Sendable, Equatable {
    /// Another writer had rotated the token; its grant is now held.
    case adopted
    /// The tokens are dead: delete them, then report ``ResourceStateMachine/tokensForgotten()``.
    case forgetTokens
}

/// What to do with a code exchange answer.
package enum ExchangeEffect: Sendable, Equatable {
    /// Store this grant, then report ``ResourceStateMachine/signInEnded(storing:)``.
    case storeGrant(Grant)
    /// The sign-in failed (and the client registration is to be dropped when told).
    case fail(OAuthRefusal, dropRegistration: Bool)
}

/// What to do with the answer to a client credentials request.
package enum ClientCredentialsEffect: Sendable, Equatable {
    /// Store this grant, then report ``ResourceStateMachine/clientCredentialsEnded(storing:)``.
    case storeGrant(Grant)
    /// The server refused the client (a configured client is never dropped).
    case fail(OAuthRefusal)
    /// A request for an exact-scope token ended with nothing to store: the token is held
    /// (`nil`), or the request fails with this.
    case narrowed(GrantFailure?)
}

/// How a sign-in that a request joined ended.
package enum SignInOutcome: Sendable, Equatable {
    /// The person signed in; this grant is held now.
    case signedIn(Grant)
    /// It failed, with the server's OAuth error code when there was one.
    case failed(OAuthErrorCode?)
}

/// What a request does after the sign-in it joined.
package enum JoinVerdict: Sendable, Equatable {
    /// Hand out this grant's token.
    case serve(Grant)
    /// Ask the machine for the next step.
    case planAgain
    /// Fail with the sign-in's own failure.
    case giveUp
}

/// Why the machine gives up on a request.
package enum GrantFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// No sign-in can bring what is asked (`scope_unattainable`).
    case scopeUnattainable(GrantPlanFailure)
    /// The authorization server refused (`authorization_failed`).
    case refused(OAuthRefusal)
    /// More steps than any request needs: a bug, not a server's doing.
    case unsettled

    package var description: String {
        switch self {
        case .scopeUnattainable(let failure): failure.description
        case .refused(let refusal): refusal.description
        case .unsettled: "the broker could not settle on a token; this is a bug"
        }
    }
}

/// An authorization server's refusal at its token endpoint.
package struct OAuthRefusal: Sendable, Equatable, CustomStringConvertible {
    /// Which exchange was refused.
    package enum Step: Sendable, Equatable {
        case refresh
        case codeExchange
        case clientCredentials
    }

    /// Which exchange was refused.
    package var step: Step
    /// The HTTP status.
    package var status: Int
    /// The OAuth error code, when the body carried one.
    package var error: OAuthErrorCode?

    /// Creates a refusal.
    package init(step: Step, status: Int, error: OAuthErrorCode?) {
        self.step = step
        self.status = status
        self.error = error
    }

    package var description: String {
        let what =
            switch step {
            case .refresh: "the refresh"
            case .codeExchange: "the code exchange"
            case .clientCredentials: "the client credentials request"
            }
        if step == .clientCredentials, error == .invalidClient || status == 401 {
            return "the authorization server refused the configured client (\(error?.description ?? "HTTP \(status)")); "
                + "check its [[client]] entry in the config: client_id, secret or key"
        }
        if status >= 500, step == .codeExchange {
            // The sign-in is over: its code and verifier are spent.
            return "the authorization server failed \(what) with HTTP \(status)\(error.map { " (\($0))" } ?? ""); sign in again, "
                + "and if that fails too, the server needs fixing"
        }
        return "the authorization server refused \(what) (\(error?.description ?? "HTTP \(status)"))"
    }
}
