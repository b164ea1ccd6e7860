#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The params of the `authorization/pending` notification, sent to a connection whose
/// `token/get` waits for a person to sign in.
public struct AuthorizationPendingParams: BrokerParams, Hashable {
    /// `resource`: the canonical resource URI the sign-in is for.
    public var resource: String
    /// `authorizationUrl`: where the person signs in; a client may show or open it.
    public var authorizationURL: String
    /// `scopes`: the scopes the sign-in asks for.
    public var scopes: [String]
    /// A device sign-in (RFC 8628): the code to type and where. `nil` for a browser
    /// sign-in. On the wire its members sit beside the others.
    public var device: DeviceSignIn?

    /// Creates the params.
    ///
    /// - Parameters:
    ///   - resource: The canonical resource URI.
    ///   - authorizationURL: Where the person signs in.
    ///   - scopes: The scopes asked for.
    ///   - device: The code of a device sign-in.
    public init(resource: String, authorizationURL: String, scopes: [String], device: DeviceSignIn? = nil) {
        self.resource = resource
        self.authorizationURL = authorizationURL
        self.scopes = scopes
        self.device = device
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
            scopes: try object.optionalStringArray("scopes") ?? [],
            device: try DeviceSignIn(members: object)
        )
    }

    /// `{"resource", "authorizationUrl", "scopes"}`, and a device sign-in's members.
    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = [
            "resource": .string(resource),
            "authorizationUrl": .string(authorizationURL),
            "scopes": .array(scopes.map(JSONValue.string)),
        ]
        device?.write(into: &members)
        return .object(members)
    }
}

/// A device sign-in in progress (RFC 8628): the person opens ``verificationURI`` on any
/// device and types ``userCode`` (or opens ``verificationURIComplete``, which holds it).
public struct DeviceSignIn: Sendable, Hashable {
    /// `userCode`: what the person types.
    public var userCode: String
    /// `verificationUri`: where.
    public var verificationURI: String
    /// `verificationUriComplete`: the same with the code filled in, when the server offers it.
    public var verificationURIComplete: String?
    /// `expiresAt`: when the code expires.
    public var expiresAt: Date

    /// Creates a device sign-in.
    ///
    /// - Parameters:
    ///   - userCode: What the person types.
    ///   - verificationURI: Where.
    ///   - verificationURIComplete: The same with the code filled in, if offered.
    ///   - expiresAt: When the code expires.
    public init(userCode: String, verificationURI: String, verificationURIComplete: String?, expiresAt: Date) {
        self.userCode = userCode
        self.verificationURI = verificationURI
        self.verificationURIComplete = verificationURIComplete
        self.expiresAt = expiresAt
    }

    /// Reads the members from an object that holds them; `nil` without a `userCode`.
    init?(members object: JSONObjectReader) throws(WireFormatError) {
        guard let userCode = try object.optionalString("userCode") else { return nil }
        self.init(
            userCode: userCode, verificationURI: try object.string("verificationUri"),
            verificationURIComplete: try object.optionalString("verificationUriComplete"),
            expiresAt: try object.timestamp("expiresAt"))
    }

    func write(into members: inout [String: JSONValue]) {
        members["userCode"] = .string(userCode)
        members["verificationUri"] = .string(verificationURI)
        if let verificationURIComplete { members["verificationUriComplete"] = .string(verificationURIComplete) }
        members["expiresAt"] = .string(WireTimestamp.string(from: expiresAt))
    }
}
