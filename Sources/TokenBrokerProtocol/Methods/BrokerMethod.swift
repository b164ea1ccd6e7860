/// The name of a method or notification, sent as `method`.
///
/// A struct so that an unknown name from a newer client is still representable; the
/// daemon answers those with ``RPCError/methodNotFound(_:)``.
public struct BrokerMethod: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The method name as sent.
    public var rawValue: String

    /// Wraps a method name.
    ///
    /// - Parameter rawValue: The method name as sent.
    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Wraps a method name.
    ///
    /// - Parameter value: The method name as sent.
    public init(stringLiteral value: String) {
        self.rawValue = value
    }

    /// The method name.
    public var description: String { rawValue }

    /// `token/get`: an access token for an MCP server. Params ``TokenGetParams``,
    /// result ``TokenGetResult``.
    public static let tokenGet: BrokerMethod = "token/get"
    /// `grants/list`: what the broker holds, without secrets. No params, result
    /// ``GrantsListResult``.
    public static let grantsList: BrokerMethod = "grants/list"
    /// `grants/revoke`: revoke and forget tokens. Params ``GrantsRevokeParams``, result
    /// ``GrantsRevokeResult``.
    public static let grantsRevoke: BrokerMethod = "grants/revoke"
    /// `broker/info`: the daemon's version and paths. No params, result ``BrokerInfo``.
    public static let brokerInfo: BrokerMethod = "broker/info"
    /// `authorization/pending`: a notification from the daemon while a `token/get` waits
    /// for a person. Params ``AuthorizationPendingParams``.
    public static let authorizationPending: BrokerMethod = "authorization/pending"
    /// `audit/list`: the most recent audit lines (an addition to the contract, for `tokenbroker audit`).
    public static let auditList: BrokerMethod = "audit/list"
    /// `authorization/complete`: finish a waiting sign-in with the address the browser
    /// was sent back to, pasted by hand (an addition to the contract, for sign-ins over
    /// SSH). Params ``AuthorizationCompleteParams``, result ``AuthorizationCompleteResult``.
    public static let authorizationComplete: BrokerMethod = "authorization/complete"

    /// The methods a client can call, in the order the documentation lists them.
    public static let allRequestMethods: [BrokerMethod] = [
        .tokenGet, .grantsList, .grantsRevoke, .auditList, .authorizationComplete, .brokerInfo,
    ]
}
