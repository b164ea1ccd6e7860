/// The params of the `authorization/pending` notification, sent to a connection whose
/// `token/get` waits for a person to sign in.
public struct AuthorizationPendingParams: BrokerParams, Hashable {
    /// `resource`: the canonical resource URI the sign-in is for.
    public var resource: String
    /// `authorizationUrl`: where the person signs in; a client may show or open it.
    public var authorizationURL: String
    /// `scopes`: the scopes the sign-in asks for.
    public var scopes: [String]

    /// Creates the params.
    ///
    /// - Parameters:
    ///   - resource: The canonical resource URI.
    ///   - authorizationURL: Where the person signs in.
    ///   - scopes: The scopes asked for.
    public init(resource: String, authorizationURL: String, scopes: [String]) {
        self.resource = resource
        self.authorizationURL = authorizationURL
        self.scopes = scopes
    }

    /// Reads the params.
    ///
    /// - Parameter jsonValue: The params object.
    /// - Throws: ``WireFormatError`` naming the bad member.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        self.init(
            resource: try object.string("resource"),
            authorizationURL: try object.string("authorizationUrl"),
            scopes: try object.optionalStringArray("scopes") ?? []
        )
    }

    /// `{"resource", "authorizationUrl", "scopes"}`.
    public var jsonValue: JSONValue {
        [
            "resource": .string(resource),
            "authorizationUrl": .string(authorizationURL),
            "scopes": .array(scopes.map(JSONValue.string)),
        ]
    }
}
