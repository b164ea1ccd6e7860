/// An OAuth error code (RFC 6749 §4.1.2.1, §5.2; RFC 7591 §3.2.2), compared as a value
/// rather than as strings scattered through the broker.
///
/// A struct over the raw string, not an enum: servers send codes no list anticipates, and
/// those still reach the client in `data.error`.
package struct OAuthErrorCode: RawRepresentable, Hashable, Sendable, Decodable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    /// The code as the server sent it.
    package let rawValue: String

    /// Wraps a code as the server sent it.
    package init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// A code written in the source, as in `"invalid_grant"`.
    package init(stringLiteral value: String) {
        rawValue = value
    }

    /// The refresh token or authorization code is invalid, expired or revoked.
    package static let invalidGrant = OAuthErrorCode(rawValue: "invalid_grant")
    /// The client is unknown or failed to authenticate.
    package static let invalidClient = OAuthErrorCode(rawValue: "invalid_client")
    /// A requested scope is invalid, unknown or beyond the registration.
    package static let invalidScope = OAuthErrorCode(rawValue: "invalid_scope")
    /// The person or the server declined.
    package static let accessDenied = OAuthErrorCode(rawValue: "access_denied")
    /// RFC 8628 §3.5: the person has not approved the device sign-in yet.
    package static let authorizationPending = OAuthErrorCode(rawValue: "authorization_pending")
    /// RFC 8628 §3.5: poll less often.
    package static let slowDown = OAuthErrorCode(rawValue: "slow_down")
    /// RFC 8628 §3.5: the device code expired.
    package static let expiredToken = OAuthErrorCode(rawValue: "expired_token")
    /// RFC 7591 §3.2.2: a registration's metadata was refused.
    package static let invalidClientMetadata = OAuthErrorCode(rawValue: "invalid_client_metadata")

    /// At most 64 characters: a hostile server's code is not a place for an essay.
    package var description: String { String(rawValue.prefix(64)) }

    /// Codes that mean the client registration no longer fits: it is gone (`invalid_client`)
    /// or narrower than the scopes asked for (`invalid_scope`; the MCP SDK's server checks
    /// registered scopes). Registering again can help, once.
    package var condemnsRegistration: Bool { self == .invalidClient || self == .invalidScope }

    package init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }
}
