/// The params of `grants/revoke`: one resource, or all of them.
public enum GrantsRevokeParams: BrokerParams, Hashable {
    /// `{"resource": "…"}`: the grant for this resource.
    case resource(String)
    /// `{"all": true}`: every grant.
    case all

    /// Reads the params.
    ///
    /// Exactly one of `resource` and `"all": true` must be given; `"all": false` counts
    /// as absent.
    ///
    /// - Parameter jsonValue: The params object.
    /// - Throws: ``WireFormatError`` when both or neither are given, or one has the wrong type.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        let resource = try object.optionalString("resource")
        let all = try object.optionalBool("all") ?? false
        switch (resource, all) {
        case (let resource?, false):
            self = .resource(resource)
        case (nil, true):
            self = .all
        case (_?, true):
            throw WireFormatError(field: "resource", problem: "and `all` cannot both be given; revoke one resource or all")
        case (nil, false):
            throw WireFormatError(field: "resource", problem: "is required unless `all` is true")
        }
    }

    /// `{"resource": "…"}` or `{"all": true}`.
    public var jsonValue: JSONValue {
        switch self {
        case .resource(let resource): ["resource": .string(resource)]
        case .all: ["all": true]
        }
    }
}

/// The result of `grants/revoke`: what happened to each grant.
public struct GrantsRevokeResult: JSONValueConvertible, Hashable {
    /// `revoked`: one entry per grant deleted locally.
    public var revoked: [RevokedGrant]

    /// Creates a result.
    ///
    /// - Parameter revoked: One entry per grant deleted locally.
    public init(revoked: [RevokedGrant]) {
        self.revoked = revoked
    }

    /// Reads the result.
    ///
    /// - Parameter jsonValue: The result object.
    /// - Throws: ``WireFormatError`` naming the bad member.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        self.init(revoked: try JSONObjectReader(jsonValue).array(of: RevokedGrant.self, "revoked"))
    }

    /// `{"revoked": [...]}`.
    public var jsonValue: JSONValue {
        ["revoked": .array(revoked.map(\.jsonValue))]
    }
}

/// One grant that `grants/revoke` deleted locally, with the outcome at the
/// authorization server.
public struct RevokedGrant: JSONValueConvertible, Hashable {
    /// `resource`: the canonical resource URI.
    public var resource: String
    /// `remote`: what the authorization server's revocation endpoint did.
    public var remote: RemoteRevocation

    /// Creates an entry.
    ///
    /// - Parameters:
    ///   - resource: The canonical resource URI.
    ///   - remote: The outcome at the authorization server.
    public init(resource: String, remote: RemoteRevocation) {
        self.resource = resource
        self.remote = remote
    }

    /// Reads an entry.
    ///
    /// - Parameter jsonValue: The entry object.
    /// - Throws: ``WireFormatError`` naming the bad member.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        self.init(
            resource: try object.string("resource"),
            remote: RemoteRevocation(rawValue: try object.string("remote"))
        )
    }

    /// `{"resource", "remote"}`.
    public var jsonValue: JSONValue {
        ["resource": .string(resource), "remote": .string(remote.rawValue)]
    }
}

/// The outcome of RFC 7009 revocation at the authorization server. The local tokens
/// are deleted whatever it is.
public struct RemoteRevocation: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The string sent as `remote`.
    public var rawValue: String

    /// Wraps an outcome string.
    ///
    /// - Parameter rawValue: The string sent as `remote`.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The outcome string.
    public var description: String { rawValue }

    /// The server accepted the revocation.
    public static let revoked = RemoteRevocation(rawValue: "revoked")
    /// The server has no `revocation_endpoint`.
    public static let unsupported = RemoteRevocation(rawValue: "unsupported")
    /// The server could not be reached or refused; the tokens may still be valid there.
    public static let failed = RemoteRevocation(rawValue: "failed")
}
