package import Foundation
package import TokenBrokerCore

/// The new tokens of a grant after a refresh, for
/// ``BrokerStore/replaceTokens(resource:issuer:expectedRefreshToken:with:)``.
package struct TokenRotation: Sendable, Equatable {
    /// The new access token; `nil` when the grant holds none (a rotation that only
    /// renewed the refresh token, asking for a narrower token).
    package var accessToken: Secret?
    /// When it expires; `nil` when the server gave no lifetime.
    package var accessTokenExpiresAt: Date?
    /// The refresh token to keep from now on.
    ///
    /// The new one when the server rotated it; the old one again when the token
    /// response carried none (RFC 6749 §6: the client keeps using it); `nil` erases it.
    package var refreshToken: Secret?
    /// The scopes of the new access token.
    package var grantedScopes: ScopeSet
    /// When the rotation happened: becomes the grant's `updatedAt`.
    package var rotatedAt: Date

    /// Creates a rotation.
    ///
    /// - Parameters:
    ///   - accessToken: The new access token.
    ///   - accessTokenExpiresAt: When it expires, if known.
    ///   - refreshToken: The refresh token to keep (see ``refreshToken``).
    ///   - grantedScopes: The scopes of the new access token.
    ///   - rotatedAt: When the rotation happened.
    package init(
        accessToken: Secret?,
        accessTokenExpiresAt: Date?,
        refreshToken: Secret?,
        grantedScopes: ScopeSet,
        rotatedAt: Date
    ) {
        self.accessToken = accessToken
        self.accessTokenExpiresAt = accessTokenExpiresAt
        self.refreshToken = refreshToken
        self.grantedScopes = grantedScopes
        self.rotatedAt = rotatedAt
    }
}
