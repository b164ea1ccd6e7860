#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

/// What a local client asks of the broker for one resource, as the planner sees it.
package struct TokenRequest: Sendable, Equatable {
    /// The scopes this request needs. Least privilege: the broker never asks for more
    /// on the client's behalf than clients have needed, challenges demanded and the
    /// resource's own fallback suggests.
    package var neededScopes: ScopeSet
    /// The Bearer challenge the client just received, if any.
    package var challenge: BearerChallenge?
    /// The HTTP status that carried the challenge (401 or 403).
    package var status: Int?
    /// The access token the server refused, if the client said which.
    package var rejectedToken: Secret?
    /// The token must stay valid this long.
    package var minimumValidity: TimeInterval
    /// A person explicitly asked to sign in (`tokenbroker login`): always authorize.
    package var explicitSignIn: Bool
    /// The token must carry exactly ``neededScopes``, no more (`token/get`'s
    /// `exactScopes`): a narrower token is refreshed from the grant (RFC 6749 §6).
    package var exactScopes = false
    /// The challenge arrived while the broker held no token, so it condemns none of ours
    /// (set by ``ResourceStateMachine/begin(_:confirmedUse:)``).
    package internal(set) var rejectsNoHeldToken = false

    /// Creates a request.
    package init(
        neededScopes: ScopeSet = [], challenge: BearerChallenge? = nil, status: Int? = nil,
        rejectedToken: Secret? = nil, minimumValidity: TimeInterval = 30, explicitSignIn: Bool = false,
        exactScopes: Bool = false
    ) {
        self.exactScopes = exactScopes
        self.neededScopes = neededScopes
        self.challenge = challenge
        self.status = status
        self.rejectedToken = rejectedToken
        self.minimumValidity = minimumValidity
        self.explicitSignIn = explicitSignIn
    }

    /// True when the client reports a 401/403 rather than asking up front.
    package var reportsChallenge: Bool { status != nil || challenge != nil }

    /// A 403, or an `insufficient_scope` error whatever the status: the token is valid
    /// but lacks scopes.
    package var isStepUp: Bool { status == 403 || challenge?.isInsufficientScope == true }
}

/// What discovery knows about scopes, for the fallbacks.
package struct ScopeSources: Sendable, Equatable {
    /// The resource's `scopes_supported` (protected resource metadata) without OpenID
    /// Connect's identity scopes: MCP's fallback when neither the client nor a challenge
    /// names scopes. A fallback asks for access to the resource, never for a login.
    package let protectedResourceScopes: ScopeSet
    /// The authorization server's `scopes_supported`: consulted only for `offline_access`.
    package let authorizationServerScopes: ScopeSet

    /// Creates scope sources.
    package init(protectedResourceScopes: ScopeSet = [], authorizationServerScopes: ScopeSet = []) {
        self.protectedResourceScopes = protectedResourceScopes.withoutOpenIDIdentityScopes
        self.authorizationServerScopes = authorizationServerScopes
    }
}

/// The one thing to do for a token request.
package enum GrantAction: Sendable, Equatable {
    /// The held access token answers the request.
    case serve
    /// Use the refresh token; it can renew but never widen the grant (RFC 6749 §6).
    /// For a client-credentials client: ask again for the scopes asked so far.
    case refresh
    /// Run a new authorization code sign-in for `scopes` (empty: leave `scope` out); for
    /// a client-credentials client, a token request for them.
    case authorize(scopes: ScopeSet)
    /// Give up, for the reason given.
    case fail(GrantPlanFailure)
}

/// Why the planner gives up; maps to `scope_unattainable` on the wire.
package enum GrantPlanFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Everything the request needs was asked for before and the server did not grant
    /// it or refused the token anyway: another sign-in would ask for the same again.
    case scopesRefused(ScopeSet)
    /// ``StepUpLedger/maximumAuthorizations`` sign-ins without a successful use in between.
    case authorizationLimitReached(attempts: Int)
    /// No token of exactly these scopes can be had; `why` says what happened.
    case notNarrowed(ScopeSet, why: String)

    package var description: String {
        switch self {
        case .scopesRefused(let scopes):
            scopes.isEmpty
                ? "the server keeps refusing the token and there is no further scope to ask for"
                : "the server keeps refusing the scopes \(scopes.spaceDelimited), which were already asked for and not granted"
        case .authorizationLimitReached(let attempts):
            "gave up after \(attempts) sign-ins for this resource without a successful use in between"
        case .notNarrowed(let scopes, let why):
            "no token for exactly \(scopes.spaceDelimited): \(why); ask without exactScopes for the grant's token"
        }
    }
}

/// Per-resource memory of recent sign-ins and refreshes that were not followed by a
/// successful use, so a server that never accepts a token cannot loop the broker.
///
/// A successful use is what one connection's answers show (``ConnectionUseRecord``);
/// only then are the attempts forgotten. The limit is per resource, a superset of the
/// per-operation limit MCP asks for.
package struct StepUpLedger: Sendable, Equatable {
    /// The most sign-ins in a row, the first included (MCP's conformance threshold).
    package static let maximumAuthorizations = 3

    /// Sign-ins started since the last successful use.
    package private(set) var authorizations = 0
    /// Refreshes made because a server rejected a token, since the last successful use.
    package private(set) var refreshesAfterRejection = 0

    /// A fresh ledger.
    package init() {}

    /// Forget all attempts (a person signed in explicitly, or the grant was revoked).
    package mutating func reset() {
        self = StepUpLedger()
    }

    /// A token was used successfully (``ConnectionUseRecord``): the attempts before it
    /// led somewhere, so they are forgotten.
    package mutating func noteConfirmedUse() {
        authorizations = 0
        refreshesAfterRejection = 0
    }

    mutating func noteAuthorization() { authorizations += 1 }
    mutating func noteRejectionRefresh() { refreshesAfterRejection += 1 }
}

/// Decides, without I/O, what a token request needs: the heart of the broker.
package enum GrantPlanner {
    /// Plans one token request.
    ///
    /// Every `.authorize` and rejection-driven `.refresh` it returns is counted in
    /// `ledger`, so act on each decision; a request that joined a flight in progress
    /// may be planned again once the flight ends. Call ``StepUpLedger/noteConfirmedUse()``
    /// once per client request first.
    ///
    /// - Parameters:
    ///   - request: what the client asks.
    ///   - grant: what the broker holds for the resource, or `nil`.
    ///   - sources: scope fallbacks from discovery.
    ///   - ledger: the resource's attempt memory, updated.
    ///   - now: the current time, from the caller's clock.
    ///   - clientCredentials: the client gets tokens by asking again (client credentials):
    ///     a grant that held a token renews that way, as a refresh would (`.refresh`, not
    ///     counted as a sign-in), and `offline_access` is never added.
    package static func plan(
        _ request: TokenRequest, grant: Grant?, sources: ScopeSources, ledger: inout StepUpLedger, now: Date,
        clientCredentials: Bool = false
    ) -> GrantAction {
        // Without a person there is nothing to keep signed in for (RFC 6749 §4.4.3).
        let sources = clientCredentials ? ScopeSources(protectedResourceScopes: sources.protectedResourceScopes) : sources
        func renewable(_ grant: Grant) -> Bool {
            grant.refreshToken != nil || (clientCredentials && grant.accessToken != nil)
        }
        let challenged = request.challenge?.scope ?? []
        let requested = grant?.requestedScopes ?? []
        let granted = grant?.grantedScopes ?? []
        let currentToken = grant?.accessToken

        if request.explicitSignIn {
            ledger.reset()
            ledger.noteAuthorization()
            return .authorize(scopes: withOfflineAccess(
                firstRoundScopes(requested.union(request.neededScopes).union(challenged), sources), sources))
        }

        // A challenge for a token other than the current one is old news: another
        // request may already have refreshed or stepped up.
        let condemnsCurrentToken =
            request.reportsChallenge && currentToken != nil && !request.rejectsNoHeldToken
            && (request.rejectedToken == nil || request.rejectedToken == currentToken)

        if !condemnsCurrentToken, let grant {
            var needed = request.neededScopes
            if request.reportsChallenge { needed.formUnion(challenged) }
            if grant.grantedScopes.isSuperset(of: needed) {
                if grant.hasAccessToken(validFor: request.minimumValidity, at: now) { return .serve }
                if renewable(grant) { return .refresh }
            }
        }

        if request.isStepUp {
            return planStepUp(request, requested: requested, granted: granted, sources: sources, ledger: &ledger)
        }

        if condemnsCurrentToken, let grant, renewable(grant),
            granted.isSuperset(of: request.neededScopes.union(challenged))
        {
            // A token past its lifetime was refused because it expired: that is no sign
            // of a server refusing every token, so it is refreshed however often it
            // happens (a client that keeps its token until a 401 reports every expiry).
            if !grant.hasAccessToken(validFor: 0, at: now) { return .refresh }
            if ledger.refreshesAfterRejection == 0 {
                ledger.noteRejectionRefresh()
                return .refresh
            }
        }

        // No usable token: sign in for everything asked so far plus this request.
        let target = firstRoundScopes(requested.union(request.neededScopes).union(challenged), sources)
        if !request.reportsChallenge, grant?.accessToken != nil || grant?.refreshToken != nil {
            // The client needs scopes the grant lacks. Scopes asked for before and not
            // granted were refused (RFC 6749 §5.1: an explicit narrower scope is final).
            let missing = request.neededScopes.subtracting(granted)
            if !missing.isEmpty, missing.isSubset(of: requested) { return .fail(.scopesRefused(missing)) }
        }
        return authorize(target, sources: sources, ledger: &ledger)
    }

    /// 403 / `insufficient_scope`: a new sign-in for previously requested ∪ challenged
    /// ∪ needed (SEP-2350), never a refresh.
    private static func planStepUp(
        _ request: TokenRequest, requested: ScopeSet, granted: ScopeSet, sources: ScopeSources,
        ledger: inout StepUpLedger
    ) -> GrantAction {
        var challenged = request.challenge?.scope ?? []
        if challenged.isEmpty {
            // http-mcp, django-oauth-toolkit and the MCP SDK's middleware send 403 without scope=.
            challenged = request.neededScopes.union(sources.protectedResourceScopes)
        }
        let target = requested.union(challenged).union(request.neededScopes)
        let alreadyAsked = requested.union(granted)
        if target.isSubset(of: alreadyAsked) {
            return .fail(.scopesRefused(challenged))
        }
        return authorize(target, sources: sources, ledger: &ledger)
    }

    private static func authorize(_ scopes: ScopeSet, sources: ScopeSources, ledger: inout StepUpLedger) -> GrantAction {
        guard ledger.authorizations < StepUpLedger.maximumAuthorizations else {
            return .fail(.authorizationLimitReached(attempts: ledger.authorizations))
        }
        ledger.noteAuthorization()
        return .authorize(scopes: withOfflineAccess(scopes, sources))
    }

    /// MCP's initial choice: what clients and challenges named, else the resource's
    /// `scopes_supported`, else nothing (the `scope` parameter is then left out).
    static func firstRoundScopes(_ named: ScopeSet, _ sources: ScopeSources) -> ScopeSet {
        named.isEmpty ? sources.protectedResourceScopes : named
    }

    /// `offline_access` only when the authorization server lists it and the request
    /// asks for something (SEP-2207); never as the only scope.
    static func withOfflineAccess(_ scopes: ScopeSet, _ sources: ScopeSources) -> ScopeSet {
        guard !scopes.isEmpty, sources.authorizationServerScopes.contains(.offlineAccess) else { return scopes }
        return scopes.union([.offlineAccess])
    }
}
