#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

/// What the broker holds for one resource server at one authorization server.
///
/// `requestedScopes` only ever grows (SEP-2350 accumulation): it is every scope the
/// broker has asked for on behalf of local clients, in first-seen order, and it
/// survives failures. `grantedScopes` is what the current token carries as far as the
/// broker knows (RFC 6749 §5.1).
package struct Grant: Sendable, Equatable {
    /// The canonical resource URI: the storage key and the RFC 8707 `resource` value.
    package var resource: ResourceURI
    /// The issuer identifier of the authorization server that issued the tokens.
    package var issuer: String
    /// The `client_id` the tokens were issued to: a refresh or a revocation authenticates
    /// as this client and no other (RFC 6749 §6). `nil` for grants stored before the
    /// broker recorded it, which use the client the broker is known as at `issuer`.
    package var clientID: String?
    /// Every scope ever requested for this resource, accumulated.
    package var requestedScopes: ScopeSet
    /// The scopes of the current token.
    package var grantedScopes: ScopeSet
    /// The current access token, if any.
    package var accessToken: Secret?
    /// When the access token expires; `nil` when the server gave no lifetime.
    package var accessTokenExpiresAt: Date?
    /// The refresh token, if the server issued one.
    package var refreshToken: Secret?
    /// When this grant was first stored.
    package var createdAt: Date
    /// When this grant last changed.
    package var updatedAt: Date

    /// Creates a grant.
    package init(
        resource: ResourceURI,
        issuer: String,
        requestedScopes: ScopeSet = [],
        grantedScopes: ScopeSet = [],
        accessToken: Secret? = nil,
        accessTokenExpiresAt: Date? = nil,
        refreshToken: Secret? = nil,
        createdAt: Date,
        updatedAt: Date,
        clientID: String? = nil
    ) {
        self.resource = resource
        self.issuer = issuer
        self.clientID = clientID
        self.requestedScopes = requestedScopes
        self.grantedScopes = grantedScopes
        self.accessToken = accessToken
        self.accessTokenExpiresAt = accessTokenExpiresAt
        self.refreshToken = refreshToken
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
