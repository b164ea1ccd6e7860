#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// How a sign-in is made (`token/get`'s `flow`).
public enum SignInFlow: String, Sendable, Hashable, CaseIterable {
    /// In a browser, back to the daemon's loopback callback (or pasted back).
    case browser
    /// RFC 8628: a code typed on any other device.
    case device
}

/// The params of `token/get`: which MCP server, which scopes, and what just happened.
///
/// After a 401 or 403 from the MCP server, pass its `WWW-Authenticate` value as
/// ``challenge``, the status as ``status`` and the refused token as ``rejectedToken``, so
/// the daemon can refresh or step up instead of handing out the same token again.
public struct TokenGetParams: BrokerParams, Hashable, CustomStringConvertible {
    /// The default of ``minValidSeconds``: 30.
    public static let defaultMinValidSeconds = 30
    /// The default of ``interactive``: `true`.
    public static let defaultInteractive = true
    /// The largest ``minValidSeconds`` and ``waitSeconds``: 366 days. Beyond a year a wait
    /// or a validity means nothing more, and a bounded number converts safely everywhere.
    public static let longestSeconds = 366 * 86_400

    /// The default of ``waitSeconds``: 300.
    public static let defaultWaitSeconds = 300

    /// `resource` (required): the URL of the MCP server the client talks to.
    ///
    /// Only its presence and type are checked here; the daemon canonicalizes it and
    /// refuses (with `invalid_params`) a URL that is not absolute http(s), has a
    /// fragment, or is plain http off loopback.
    public var resource: String
    /// `scopes`: the scopes this request needs; empty when absent.
    public var scopes: [String]
    /// `challenge`: the `WWW-Authenticate` value(s) of a 401/403 just received, several
    /// header lines joined with `, `.
    public var challenge: String?
    /// `status`: the HTTP status that carried ``challenge`` (401 or 403).
    public var status: Int?
    /// `rejectedToken`: the access token the server just refused.
    public var rejectedToken: AccessToken?
    /// `minValidSeconds`: the token must stay valid at least this long; 0 or more.
    public var minValidSeconds: Int
    /// `interactive`: whether the daemon may start a browser sign-in and wait for it.
    public var interactive: Bool
    /// `waitSeconds`: how long to wait for a person to finish signing in; 0 or more.
    public var waitSeconds: Int
    /// `application`: a free-text hint naming the client, for status and audit.
    public var application: String?
    /// `flow`: how a sign-in this request starts is made: `browser` or `device` (RFC
    /// 8628). Absent: the daemon chooses (the device flow when it cannot open a browser
    /// and the server offers it). A sign-in already in progress is joined as it is.
    public var flow: SignInFlow?
    /// `exactScopes`: the token must carry exactly ``scopes``, not the grant's wider set
    /// (least privilege). The daemon asks the authorization server for such a token with
    /// the grant's refresh token; `scopes` must not be empty. Default `false`.
    public var exactScopes: Bool

    /// Creates params; the defaults are the contract's.
    ///
    /// - Parameters:
    ///   - resource: The MCP server URL.
    ///   - scopes: The scopes this request needs.
    ///   - challenge: The `WWW-Authenticate` value(s) of a 401/403 just received.
    ///   - status: The HTTP status that carried `challenge`.
    ///   - rejectedToken: The access token the server just refused.
    ///   - minValidSeconds: How long the token must stay valid.
    ///   - interactive: Whether a browser sign-in may be started.
    ///   - waitSeconds: How long to wait for a person.
    ///   - application: A hint naming the client.
    ///   - flow: How a sign-in this request starts is made; `nil` lets the daemon choose.
    ///   - exactScopes: Whether the token must carry exactly `scopes`.
    public init(
        resource: String,
        scopes: [String] = [],
        challenge: String? = nil,
        status: Int? = nil,
        rejectedToken: AccessToken? = nil,
        minValidSeconds: Int = TokenGetParams.defaultMinValidSeconds,
        interactive: Bool = TokenGetParams.defaultInteractive,
        waitSeconds: Int = TokenGetParams.defaultWaitSeconds,
        application: String? = nil,
        flow: SignInFlow? = nil,
        exactScopes: Bool = false
    ) {
        self.flow = flow
        self.exactScopes = exactScopes
        self.resource = resource
        self.scopes = scopes
        self.challenge = challenge
        self.status = status
        self.rejectedToken = rejectedToken
        self.minValidSeconds = minValidSeconds
        self.interactive = interactive
        self.waitSeconds = waitSeconds
        self.application = application
    }

    /// Reads the params; absent or `null` members take their defaults.
    ///
    /// - Parameter jsonValue: The params object.
    /// - Throws: ``WireFormatError`` naming a missing `resource`, a member of the wrong
    ///   type, a `minValidSeconds`/`waitSeconds` outside 0…``longestSeconds``, or a `status` outside 100–599.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        self.init(
            resource: try object.string("resource"),
            scopes: try object.optionalStringArray("scopes") ?? [],
            challenge: try object.optionalString("challenge"),
            status: try object.optionalInteger("status", in: 100...599),
            rejectedToken: try object.optionalString("rejectedToken").map(AccessToken.init),
            minValidSeconds: try object.optionalInteger("minValidSeconds", in: 0...Self.longestSeconds)
                ?? Self.defaultMinValidSeconds,
            interactive: try object.optionalBool("interactive") ?? Self.defaultInteractive,
            waitSeconds: try object.optionalInteger("waitSeconds", in: 0...Self.longestSeconds) ?? Self.defaultWaitSeconds,
            application: try object.optionalString("application"),
            flow: try object.optionalString("flow").map { (name) throws(WireFormatError) in
                guard let flow = SignInFlow(rawValue: name) else {
                    throw WireFormatError(field: "flow", problem: "must be \"browser\" or \"device\"")
                }
                return flow
            },
            exactScopes: try object.optionalBool("exactScopes") ?? false
        )
    }

    /// The params object; optional members that are `nil` are left out, defaulted ones
    /// are always written.
    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = [
            "resource": .string(resource),
            "scopes": .array(scopes.map(JSONValue.string)),
            "minValidSeconds": .integer(minValidSeconds),
            "interactive": .bool(interactive),
            "waitSeconds": .integer(waitSeconds),
        ]
        if let challenge { members["challenge"] = .string(challenge) }
        if let status { members["status"] = .integer(status) }
        if let rejectedToken { members["rejectedToken"] = .string(rejectedToken.exposedValue) }
        if let application { members["application"] = .string(application) }
        if let flow { members["flow"] = .string(flow.rawValue) }
        if exactScopes { members["exactScopes"] = .bool(true) }
        return .object(members)
    }

    /// The params as JSON with `rejectedToken` redacted.
    public var description: String { jsonValue.description }
}

/// The result of `token/get`.
public struct TokenGetResult: JSONValueConvertible, Hashable, CustomStringConvertible {
    /// `accessToken`: the token to send as `Authorization: <tokenType> <token>`.
    public var accessToken: AccessToken
    /// `tokenType`: the token type, normally `Bearer`.
    public var tokenType: String
    /// `expiresAt`: when the token expires, in whole seconds; `nil` (`null`) when the
    /// server gave no lifetime.
    public var expiresAt: Date?
    /// `scopes`: the scopes granted to this token as the broker knows them (the token
    /// response's `scope` when present, else the scopes requested; RFC 6749 §5.1).
    public var scopes: [String]
    /// `resource`: the canonical resource URI, sent as the RFC 8707 `resource` parameter.
    public var resource: String
    /// `issuer`: the authorization server that issued the token.
    public var issuer: String

    /// Creates a result.
    ///
    /// - Parameters:
    ///   - accessToken: The token.
    ///   - tokenType: The token type, normally `Bearer`.
    ///   - expiresAt: When the token expires, `nil` if unknown.
    ///   - scopes: The scopes granted to the token.
    ///   - resource: The canonical resource URI.
    ///   - issuer: The issuer identifier of the authorization server.
    public init(
        accessToken: AccessToken,
        tokenType: String = "Bearer",
        expiresAt: Date?,
        scopes: [String],
        resource: String,
        issuer: String
    ) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.expiresAt = expiresAt
        self.scopes = scopes
        self.resource = resource
        self.issuer = issuer
    }

    /// Reads the result.
    ///
    /// - Parameter jsonValue: The result object.
    /// - Throws: ``WireFormatError`` naming a missing or ill-typed member.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        self.init(
            accessToken: AccessToken(try object.string("accessToken")),
            tokenType: try object.string("tokenType"),
            expiresAt: try object.optionalTimestamp("expiresAt"),
            scopes: try object.optionalStringArray("scopes") ?? [],
            resource: try object.string("resource"),
            issuer: try object.string("issuer")
        )
    }

    /// The result object; `expiresAt` is always present, `null` when unknown.
    public var jsonValue: JSONValue {
        [
            "accessToken": .string(accessToken.exposedValue),
            "tokenType": .string(tokenType),
            "expiresAt": expiresAt.map { .string(WireTimestamp.string(from: $0)) } ?? .null,
            "scopes": .array(scopes.map(JSONValue.string)),
            "resource": .string(resource),
            "issuer": .string(issuer),
        ]
    }

    /// The result as JSON with `accessToken` redacted.
    public var description: String { jsonValue.description }

    /// The success response to the `token/get` request `id`, as one line: byte for byte
    /// what `JSONRPCResponse(id: id, result: self).encodedLine()` writes, but written
    /// directly. It is the cache hit's answer, and building the JSON value first (a
    /// dictionary, its keys sorted) was most of the time spent encoding it.
    ///
    /// - Parameter id: The id of the request answered.
    /// - Returns: UTF-8 JSON ending in `\n`, with no other newline.
    public func encodedResponseLine(id: JSONRPCID) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(160 + accessToken.exposedValue.utf8.count + resource.utf8.count + issuer.utf8.count)
        output.append(contentsOf: #"{"jsonrpc":"2.0","id":"#.utf8)
        switch id {
        case .integer(let integer): output.append(contentsOf: String(integer).utf8)
        case .string(let string): JSONSerializer.writeString(string, into: &output)
        }
        // The members in the order the serializer sorts them into.
        output.append(contentsOf: #","result":{"accessToken":"#.utf8)
        JSONSerializer.writeString(accessToken.exposedValue, into: &output)
        output.append(contentsOf: #","expiresAt":"#.utf8)
        if let expiresAt {
            JSONSerializer.writeString(WireTimestamp.string(from: expiresAt), into: &output)
        } else {
            output.append(contentsOf: "null".utf8)
        }
        output.append(contentsOf: #","issuer":"#.utf8)
        JSONSerializer.writeString(issuer, into: &output)
        output.append(contentsOf: #","resource":"#.utf8)
        JSONSerializer.writeString(resource, into: &output)
        output.append(contentsOf: #","scopes":["#.utf8)
        for (position, scope) in scopes.enumerated() {
            if position > 0 { output.append(UInt8(ascii: ",")) }
            JSONSerializer.writeString(scope, into: &output)
        }
        output.append(contentsOf: #"],"tokenType":"#.utf8)
        JSONSerializer.writeString(tokenType, into: &output)
        output.append(contentsOf: "}}\n".utf8)
        return output
    }
}
