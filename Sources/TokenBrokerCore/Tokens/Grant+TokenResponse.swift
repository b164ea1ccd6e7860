#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

/// Which grant produced a token response; decides how omitted fields are read.
package enum TokenRound: Sendable, Equatable {
    /// An authorization code exchange after a sign-in that asked for `requested`.
    case authorizationCode(requested: ScopeSet)
    /// A refresh token grant.
    case refresh
    /// A client credentials grant that asked for `requested` (RFC 6749 §4.4).
    case clientCredentials(requested: ScopeSet)
}

extension Grant {
    /// Longest lifetime taken from `expires_in`; bounds a server that sends nonsense.
    package static let maximumTokenLifetime: TimeInterval = 10 * 365 * 24 * 3600

    /// The grant after a successful token response.
    ///
    /// - An explicit `scope` is the grant, even when narrower than asked (RFC 6749 §5.1).
    /// - An omitted `scope` after a sign-in means exactly what that round asked for;
    ///   after a refresh, the scopes of the grant being refreshed (RFC 6749 §6).
    /// - After a sign-in, the round's scopes join `requestedScopes` (SEP-2350); the old
    ///   refresh token belongs to the old grant and is dropped.
    /// - A refresh that returns no `refresh_token` keeps the current one.
    /// - `expires_in` becomes an absolute expiry; a missing or non-positive one means
    ///   the lifetime is unknown (the token is used until a server rejects it).
    package func applying(_ response: TokenResponse, round: TokenRound, now: Date) -> Grant {
        var next = self
        next.accessToken = response.accessToken
        switch round {
        case .authorizationCode(let requested), .clientCredentials(let requested):
            next.grantedScopes = response.scope ?? requested
            next.requestedScopes = requestedScopes.union(requested)
            next.refreshToken = response.refreshToken
        case .refresh:
            next.grantedScopes = response.scope ?? grantedScopes
            next.refreshToken = response.refreshToken ?? refreshToken
        }
        if let seconds = response.expiresIn, seconds > 0 {
            next.accessTokenExpiresAt = now.addingTimeInterval(min(TimeInterval(seconds), Grant.maximumTokenLifetime))
        } else {
            next.accessTokenExpiresAt = nil
        }
        next.updatedAt = now
        return next
    }

    /// True when the access token exists and stays valid for `minimumValidity` more
    /// seconds, or for half its lifetime when that is shorter.
    ///
    /// A client cannot get more validity than the server grants: without the cap, a
    /// `minValidSeconds` above the token lifetime would refresh on every request.
    package func hasAccessToken(validFor minimumValidity: TimeInterval, at now: Date) -> Bool {
        guard accessToken != nil else { return false }
        guard let expiry = accessTokenExpiresAt else { return true }
        return Grant.stillValid(expiresAt: expiry, issuedAt: updatedAt, minimumValidity: minimumValidity, at: now)
    }

    /// The validity rule of ``hasAccessToken(validFor:at:)`` for a token issued at `issuedAt`.
    package static func stillValid(expiresAt: Date, issuedAt: Date, minimumValidity: TimeInterval, at now: Date) -> Bool {
        let lifetime = expiresAt.timeIntervalSince(issuedAt)
        let required = lifetime > 0 ? min(minimumValidity, lifetime / 2) : minimumValidity
        return expiresAt.timeIntervalSince(now) >= required
    }
}
