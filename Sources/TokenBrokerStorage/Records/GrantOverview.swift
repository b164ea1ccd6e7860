package import Foundation
package import TokenBrokerCore

/// What `status` shows of a grant: its scopes and token state, never the tokens, with
/// the client id it was issued to. Read in one query, a page at a time.
package struct GrantOverview: Sendable, Equatable {
    /// The canonical resource URI.
    package var resource: ResourceURI
    /// The authorization server's issuer.
    package var issuer: String
    /// The client registered at that issuer, if one is stored.
    package var clientID: String?
    /// Every scope asked for so far.
    package var requestedScopes: ScopeSet
    /// The scopes of the current token.
    package var grantedScopes: ScopeSet
    /// Whether an access token is held.
    package var hasAccessToken: Bool
    /// When the access token expires, if known.
    package var accessTokenExpiresAt: Date?
    /// Whether a refresh token is held.
    package var hasRefreshToken: Bool
    /// When the grant last changed.
    package var updatedAt: Date

    /// Where a listing continues: after this grant's key.
    package var key: GrantKey { GrantKey(resource: resource.string, issuer: issuer) }
}

/// A grant's primary key, in listing order.
package struct GrantKey: Sendable, Hashable, Comparable {
    /// The canonical resource URI, as stored.
    package var resource: String
    /// The issuer.
    package var issuer: String

    /// Creates a key.
    package init(resource: String, issuer: String) {
        self.resource = resource
        self.issuer = issuer
    }

    package static func < (lhs: GrantKey, rhs: GrantKey) -> Bool {
        (lhs.resource, lhs.issuer) < (rhs.resource, rhs.issuer)
    }
}

/// Which grants a listing returns.
package struct GrantFilter: Sendable, Equatable {
    /// Only resources whose URI starts with this text.
    package var resourcePrefix: String?
    /// Only grants at this issuer.
    package var issuer: String?

    /// Creates a filter; the default passes every grant.
    package init(resourcePrefix: String? = nil, issuer: String? = nil) {
        self.resourcePrefix = resourcePrefix
        self.issuer = issuer
    }
}
