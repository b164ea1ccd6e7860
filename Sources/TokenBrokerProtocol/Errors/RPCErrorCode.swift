/// A JSON-RPC error `code`.
///
/// The codes the contract defines are static members; ``RPCErrorReason`` pairs each
/// with its reason in one table, ``RPCErrorReason/contractTable``.
public struct RPCErrorCode: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The integer sent as `error.code`.
    public var rawValue: Int

    /// Wraps a code.
    ///
    /// - Parameter rawValue: The integer sent as `error.code`.
    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    /// The code as a decimal integer.
    public var description: String { String(rawValue) }

    /// -32700: the line is not JSON.
    public static let parseError = RPCErrorCode(rawValue: -32700)
    /// -32600: not a JSON-RPC 2.0 request object, a batch, or an oversized line.
    public static let invalidRequest = RPCErrorCode(rawValue: -32600)
    /// -32601: unknown method.
    public static let methodNotFound = RPCErrorCode(rawValue: -32601)
    /// -32602: missing or ill-typed params, or an unacceptable resource URL.
    public static let invalidParams = RPCErrorCode(rawValue: -32602)
    /// -32603: a bug in the daemon.
    public static let internalError = RPCErrorCode(rawValue: -32603)
    /// -32001: no usable token without a person signing in.
    public static let authorizationRequired = RPCErrorCode(rawValue: -32001)
    /// -32002: the sign-in was refused, failed or timed out.
    public static let authorizationFailed = RPCErrorCode(rawValue: -32002)
    /// -32003: the resource's or authorization server's metadata is unusable.
    public static let discoveryFailed = RPCErrorCode(rawValue: -32003)
    /// -32004: the authorization server could not be reached or failed.
    public static let upstreamUnavailable = RPCErrorCode(rawValue: -32004)
    /// -32005: the scopes cannot be obtained.
    public static let scopeUnattainable = RPCErrorCode(rawValue: -32005)
}

/// The stable, machine-readable cause of an error, sent as `error.data.reason`.
///
/// A struct rather than an enum so a future reason does not break clients that switch
/// over these: compare with `==` against the static members and treat anything else
/// as "failed, see message".
public struct RPCErrorReason: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The string sent as `error.data.reason`.
    public var rawValue: String

    /// Wraps a reason string.
    ///
    /// - Parameter rawValue: The string sent as `error.data.reason`.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The reason string.
    public var description: String { rawValue }

    /// The line is not JSON.
    public static let parseError = RPCErrorReason(rawValue: "parse_error")
    /// Not a JSON-RPC 2.0 request object, a batch, or an oversized line.
    public static let invalidRequest = RPCErrorReason(rawValue: "invalid_request")
    /// Unknown method.
    public static let methodNotFound = RPCErrorReason(rawValue: "method_not_found")
    /// Missing or ill-typed params, or a resource URL that is not absolute http(s), has a
    /// fragment, or is plain http off loopback.
    public static let invalidParams = RPCErrorReason(rawValue: "invalid_params")
    /// No usable token and `interactive` was false, or no way to show the sign-in URL.
    public static let authorizationRequired = RPCErrorReason(rawValue: "authorization_required")
    /// The person or the authorization server refused, `state`/`iss` did not match, or
    /// the wait timed out.
    public static let authorizationFailed = RPCErrorReason(rawValue: "authorization_failed")
    /// Protected-resource or authorization-server metadata missing, invalid, for another
    /// resource, with a mismatched issuer, or without PKCE S256.
    public static let discoveryFailed = RPCErrorReason(rawValue: "discovery_failed")
    /// The authorization server could not be reached or answered 5xx; the stored grant
    /// is untouched.
    public static let upstreamUnavailable = RPCErrorReason(rawValue: "upstream_unavailable")
    /// The step-up limit for this resource was reached, or the server keeps refusing
    /// the scopes.
    public static let scopeUnattainable = RPCErrorReason(rawValue: "scope_unattainable")
    /// A bug; the daemon stays up.
    public static let internalError = RPCErrorReason(rawValue: "internal_error")

    /// The contract's error table: every reason with its code. The only place the two
    /// are paired.
    public static let contractTable: [(reason: RPCErrorReason, code: RPCErrorCode)] = [
        (.parseError, .parseError),
        (.invalidRequest, .invalidRequest),
        (.methodNotFound, .methodNotFound),
        (.invalidParams, .invalidParams),
        (.authorizationRequired, .authorizationRequired),
        (.authorizationFailed, .authorizationFailed),
        (.discoveryFailed, .discoveryFailed),
        (.upstreamUnavailable, .upstreamUnavailable),
        (.scopeUnattainable, .scopeUnattainable),
        (.internalError, .internalError),
    ]

    /// The code the contract pairs with this reason, or `nil` for a reason it does not define.
    public var code: RPCErrorCode? {
        Self.contractTable.first { $0.reason == self }?.code
    }

    /// The reason the contract pairs with `code`, or `nil` for a code it does not define.
    ///
    /// - Parameter code: A JSON-RPC error code.
    public init?(code: RPCErrorCode) {
        guard let entry = Self.contractTable.first(where: { $0.code == code }) else { return nil }
        self = entry.reason
    }
}
