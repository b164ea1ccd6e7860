#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The params of `grants/list`: a page of grants and what to list.
public struct GrantsListParams: BrokerParams, Hashable {
    /// The default `limit`.
    public static let defaultLimit = 100
    /// The largest `limit`: with the daemon's byte cap per page, a page stays well under
    /// the 1 MiB line limit.
    public static let maximumLimit = 500

    /// `limit`: at most this many grants.
    public var limit: Int
    /// `cursor`: the previous page's `nextCursor`; absent for the first page.
    public var cursor: String?
    /// `resource`: only resources whose URI starts with this text.
    public var resourcePrefix: String?
    /// `issuer`: only grants at this authorization server.
    public var issuer: String?
    /// `pending`: only sign-ins waiting for a person.
    public var pendingOnly: Bool

    /// Creates params.
    public init(
        limit: Int = GrantsListParams.defaultLimit, cursor: String? = nil, resourcePrefix: String? = nil,
        issuer: String? = nil, pendingOnly: Bool = false
    ) {
        self.limit = limit
        self.cursor = cursor
        self.resourcePrefix = resourcePrefix
        self.issuer = issuer
        self.pendingOnly = pendingOnly
    }

    /// Reads the params; absent members take their defaults.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        self.init(
            limit: try object.optionalInteger("limit", in: 1...Self.maximumLimit) ?? Self.defaultLimit,
            cursor: try object.optionalString("cursor"),
            resourcePrefix: try object.optionalString("resource"),
            issuer: try object.optionalString("issuer"),
            pendingOnly: try object.optionalBool("pending") ?? false)
    }

    /// The params object; members at their defaults are left out.
    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = ["limit": .integer(limit)]
        if let cursor { members["cursor"] = .string(cursor) }
        if let resourcePrefix { members["resource"] = .string(resourcePrefix) }
        if let issuer { members["issuer"] = .string(issuer) }
        if pendingOnly { members["pending"] = .bool(true) }
        return .object(members)
    }
}

/// The result of `grants/list`: a page of entries, one per resource server the broker
/// holds state for, and where the next page starts.
public struct GrantsListResult: JSONValueConvertible, Hashable {
    /// `grants`.
    public var grants: [GrantSummary]
    /// `nextCursor`: pass it as `cursor` for the next page; `nil` (`null`) after the last.
    public var nextCursor: String?

    /// Creates a result.
    ///
    /// - Parameters:
    ///   - grants: One entry per resource server.
    ///   - nextCursor: Where the next page starts, if there is one.
    public init(grants: [GrantSummary], nextCursor: String? = nil) {
        self.grants = grants
        self.nextCursor = nextCursor
    }

    /// Reads the result.
    ///
    /// - Parameter jsonValue: The result object.
    /// - Throws: ``WireFormatError`` naming the bad member, such as `grants[0].updatedAt`.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        self.init(grants: try object.array(of: GrantSummary.self, "grants"), nextCursor: try object.optionalString("nextCursor"))
    }

    /// `{"grants": [...], "nextCursor": … }`.
    public var jsonValue: JSONValue {
        ["grants": .array(grants.map(\.jsonValue)), "nextCursor": nextCursor.map(JSONValue.string) ?? .null]
    }
}

/// What the broker holds for one resource server, without any secret: it never carries
/// a token, an authorization code, a PKCE verifier or a client secret.
public struct GrantSummary: JSONValueConvertible, Hashable {
    /// `resource`: the canonical resource URI.
    public var resource: String
    /// `issuer`: the authorization server's issuer identifier.
    public var issuer: String
    /// `clientId`: the client id the grant's tokens were issued to (its refresh and
    /// revocation authenticate as it); else the one the broker uses at that issuer;
    /// `nil` (`null`) before a client is registered.
    public var clientID: String?
    /// `requestedScopes`: every scope asked for on behalf of local clients, accumulated.
    public var requestedScopes: [String]
    /// `grantedScopes`: the scopes of the current token.
    public var grantedScopes: [String]
    /// `hasAccessToken`: whether an access token is stored.
    public var hasAccessToken: Bool
    /// `accessTokenExpiresAt`: when it expires; `nil` (`null`) without a token or lifetime.
    public var accessTokenExpiresAt: Date?
    /// `hasRefreshToken`: whether a refresh token is stored.
    public var hasRefreshToken: Bool
    /// `updatedAt`: when this grant last changed.
    public var updatedAt: Date
    /// `pendingAuthorization`: the sign-in waiting for a person, if any.
    public var pendingAuthorization: PendingAuthorization?

    /// Creates a summary.
    ///
    /// - Parameters:
    ///   - resource: The canonical resource URI.
    ///   - issuer: The issuer identifier.
    ///   - clientID: The client id at that issuer, if registered.
    ///   - requestedScopes: Every scope requested, accumulated.
    ///   - grantedScopes: The scopes of the current token.
    ///   - hasAccessToken: Whether an access token is stored.
    ///   - accessTokenExpiresAt: When it expires.
    ///   - hasRefreshToken: Whether a refresh token is stored.
    ///   - updatedAt: When the grant last changed.
    ///   - pendingAuthorization: The sign-in waiting for a person, if any.
    public init(
        resource: String,
        issuer: String,
        clientID: String?,
        requestedScopes: [String],
        grantedScopes: [String],
        hasAccessToken: Bool,
        accessTokenExpiresAt: Date?,
        hasRefreshToken: Bool,
        updatedAt: Date,
        pendingAuthorization: PendingAuthorization? = nil
    ) {
        self.resource = resource
        self.issuer = issuer
        self.clientID = clientID
        self.requestedScopes = requestedScopes
        self.grantedScopes = grantedScopes
        self.hasAccessToken = hasAccessToken
        self.accessTokenExpiresAt = accessTokenExpiresAt
        self.hasRefreshToken = hasRefreshToken
        self.updatedAt = updatedAt
        self.pendingAuthorization = pendingAuthorization
    }

    /// Reads a summary.
    ///
    /// - Parameter jsonValue: The summary object.
    /// - Throws: ``WireFormatError`` naming the bad member.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        self.init(
            resource: try object.string("resource"),
            issuer: try object.string("issuer"),
            clientID: try object.optionalString("clientId"),
            requestedScopes: try object.optionalStringArray("requestedScopes") ?? [],
            grantedScopes: try object.optionalStringArray("grantedScopes") ?? [],
            hasAccessToken: try object.bool("hasAccessToken"),
            accessTokenExpiresAt: try object.optionalTimestamp("accessTokenExpiresAt"),
            hasRefreshToken: try object.bool("hasRefreshToken"),
            updatedAt: try object.timestamp("updatedAt"),
            pendingAuthorization: try object.optionalDecode(PendingAuthorization.self, "pendingAuthorization")
        )
    }

    /// The summary object; every member is present, `null` where there is no value.
    public var jsonValue: JSONValue {
        [
            "resource": .string(resource),
            "issuer": .string(issuer),
            "clientId": clientID.map(JSONValue.string) ?? .null,
            "requestedScopes": .array(requestedScopes.map(JSONValue.string)),
            "grantedScopes": .array(grantedScopes.map(JSONValue.string)),
            "hasAccessToken": .bool(hasAccessToken),
            "accessTokenExpiresAt": accessTokenExpiresAt.map { .string(WireTimestamp.string(from: $0)) } ?? .null,
            "hasRefreshToken": .bool(hasRefreshToken),
            "updatedAt": .string(WireTimestamp.string(from: updatedAt)),
            "pendingAuthorization": pendingAuthorization?.jsonValue ?? .null,
        ]
    }
}

/// A sign-in the daemon started and a person has not finished yet.
public struct PendingAuthorization: JSONValueConvertible, Hashable {
    /// `authorizationUrl`: where the person signs in.
    public var authorizationURL: String
    /// `scopes`: the scopes that sign-in asks for.
    public var scopes: [String]
    /// `startedAt`: when the daemon started it.
    public var startedAt: Date
    /// A device sign-in's code and where to type it; its members sit beside the others.
    public var device: DeviceSignIn?

    /// Creates a pending authorization.
    ///
    /// - Parameters:
    ///   - authorizationURL: Where the person signs in.
    ///   - scopes: The scopes it asks for.
    ///   - startedAt: When it started.
    ///   - device: The code of a device sign-in.
    public init(authorizationURL: String, scopes: [String], startedAt: Date, device: DeviceSignIn? = nil) {
        self.authorizationURL = authorizationURL
        self.scopes = scopes
        self.startedAt = startedAt
        self.device = device
    }

    /// Reads a pending authorization.
    ///
    /// - Parameter jsonValue: The object.
    /// - Throws: ``WireFormatError`` naming the bad member.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        self.init(
            authorizationURL: try object.string("authorizationUrl"),
            scopes: try object.optionalStringArray("scopes") ?? [],
            startedAt: try object.timestamp("startedAt"),
            device: try DeviceSignIn(members: object)
        )
    }

    /// `{"authorizationUrl", "scopes", "startedAt"}`, and a device sign-in's members.
    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = [
            "authorizationUrl": .string(authorizationURL),
            "scopes": .array(scopes.map(JSONValue.string)),
            "startedAt": .string(WireTimestamp.string(from: startedAt)),
        ]
        device?.write(into: &members)
        return .object(members)
    }
}
