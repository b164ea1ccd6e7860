public import Foundation
public import TokenBrokerCore

/// What `status` shows of a grant: its scopes and token state, never the tokens, with
/// the client id it was issued to. Read in one query, a page at a time.
public struct GrantOverview: Sendable, Equatable {
    /// The canonical resource URI.
    public var resource: ResourceURI
    /// The authorization server's issuer.
    public var issuer: String
    /// The client registered at that issuer, if one is stored.
    public var clientID: String?
    /// Every scope asked for so far.
    public var requestedScopes: ScopeSet
    /// The scopes of the current token.
    public var grantedScopes: ScopeSet
    /// Whether an access token is held.
    public var hasAccessToken: Bool
    /// When the access token expires, if known.
    public var accessTokenExpiresAt: Date?
    /// Whether a refresh token is held.
    public var hasRefreshToken: Bool
    /// When the grant last changed.
    public var updatedAt: Date

    /// Where a listing continues: after this grant's key.
    public var key: GrantKey { GrantKey(resource: resource.string, issuer: issuer) }
}

/// A grant's primary key, in listing order.
public struct GrantKey: Sendable, Hashable, Comparable {
    /// The canonical resource URI, as stored.
    public var resource: String
    /// The issuer.
    public var issuer: String

    /// Creates a key.
    public init(resource: String, issuer: String) {
        self.resource = resource
        self.issuer = issuer
    }

    public static func < (lhs: GrantKey, rhs: GrantKey) -> Bool {
        (lhs.resource, lhs.issuer) < (rhs.resource, rhs.issuer)
    }
}

/// Which grants a listing returns.
public struct GrantFilter: Sendable, Equatable {
    /// Only resources whose URI starts with this text.
    public var resourcePrefix: String?
    /// Only grants at this issuer.
    public var issuer: String?

    /// Creates a filter; the default passes every grant.
    public init(resourcePrefix: String? = nil, issuer: String? = nil) {
        self.resourcePrefix = resourcePrefix
        self.issuer = issuer
    }
}
