/// The params of `authorization/complete`: the address a browser was sent back to,
/// handed over by hand.
///
/// For a person signed in on another machine than the daemon's (over SSH): that
/// browser cannot reach the daemon's loopback callback, so its redirect fails, and the
/// person pastes the failed address instead. The daemon treats it as if its callback
/// had received it, with the same `state`, `iss` and PKCE checks.
///
/// The address carries an authorization code, so `description` leaves it out.
public struct AuthorizationCompleteParams: BrokerParams, Hashable, CustomStringConvertible {
    /// `redirectUrl`: the whole address, the daemon's redirect URI with the
    /// authorization server's query (`code` or `error`, `state`, maybe `iss`).
    public var redirectURL: String

    /// Creates the params.
    ///
    /// - Parameter redirectURL: The address the browser was sent back to.
    public init(redirectURL: String) {
        self.redirectURL = redirectURL
    }

    /// Reads the params.
    ///
    /// - Parameter jsonValue: The params object.
    /// - Throws: ``WireFormatError`` when `redirectUrl` is missing or not a string.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        self.init(redirectURL: try JSONObjectReader(jsonValue).string("redirectUrl"))
    }

    /// `{"redirectUrl": "…"}`.
    public var jsonValue: JSONValue { ["redirectUrl": .string(redirectURL)] }

    /// Names the type only: the address holds an authorization code.
    public var description: String { "AuthorizationCompleteParams(redirectUrl: <redacted>)" }
}

/// The result of `authorization/complete`: the sign-in it finished.
public struct AuthorizationCompleteResult: JSONValueConvertible, Hashable {
    /// `resource`: the canonical resource URI signed in to.
    public var resource: String
    /// `issuer`: the authorization server.
    public var issuer: String
    /// `scopes`: the scopes granted.
    public var scopes: [String]

    /// Creates a result.
    ///
    /// - Parameters:
    ///   - resource: The canonical resource URI.
    ///   - issuer: The authorization server's issuer.
    ///   - scopes: The scopes granted.
    public init(resource: String, issuer: String, scopes: [String]) {
        self.resource = resource
        self.issuer = issuer
        self.scopes = scopes
    }

    /// Reads the result.
    ///
    /// - Parameter jsonValue: The result object.
    /// - Throws: ``WireFormatError`` naming the bad member.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        self.init(
            resource: try object.string("resource"), issuer: try object.string("issuer"),
            scopes: try object.optionalStringArray("scopes") ?? [])
    }

    /// `{"resource", "issuer", "scopes"}`.
    public var jsonValue: JSONValue {
        ["resource": .string(resource), "issuer": .string(issuer), "scopes": .array(scopes.map(JSONValue.string))]
    }
}
