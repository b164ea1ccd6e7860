/// One OAuth scope token (RFC 6749 §3.3).
///
/// A scope is an opaque, case-sensitive string of printable ASCII without spaces,
/// double quotes or backslashes. Two scopes are the same only when their strings are
/// identical: the broker never folds case or interprets hierarchies.
package struct Scope: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The scope exactly as the server spells it.
    package let rawValue: String

    /// Creates a scope when `rawValue` is a valid RFC 6749 `scope-token`, else `nil`.
    package init?(rawValue: String) {
        guard Scope.isValidToken(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// Creates a scope, throwing ``ScopeError`` with the offending text when it is invalid.
    package init(validating text: String) throws(ScopeError) {
        guard let scope = Scope(rawValue: text) else { throw ScopeError.invalidScope(text) }
        self = scope
    }

    /// `offline_access`, the scope that asks an OpenID-style server for a refresh token.
    package static let offlineAccess = Scope(rawValue: "offline_access")!

    /// OpenID Connect's identity scopes (OIDC Core §3.1.2.1, §5.4). They ask for a
    /// login (an ID token, claims about the person), not access to a resource, so the
    /// broker asks for them only when a client or a challenge names them: servers
    /// list them in `scopes_supported` when OIDC is on, and an ID token for a client
    /// registered without a signing algorithm fails at django-oauth-toolkit.
    package static let openIDIdentityScopes = ScopeSet(
        ["openid", "profile", "email", "address", "phone"].map { Scope(rawValue: $0)! })

    /// True for ``openIDIdentityScopes``.
    package var isOpenIDIdentityScope: Bool { Scope.openIDIdentityScopes.contains(self) }

    package var description: String { rawValue }

    package static func < (lhs: Scope, rhs: Scope) -> Bool { lhs.rawValue < rhs.rawValue }

    /// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`
    static func isValidToken(_ text: String) -> Bool {
        guard !text.isEmpty else { return false }
        return text.utf8.allSatisfy(isScopeCharacter)
    }

    static func isScopeCharacter(_ byte: UInt8) -> Bool {
        byte == 0x21 || (0x23...0x5B).contains(byte) || (0x5D...0x7E).contains(byte)
    }
}

/// Why a scope string was refused.
package enum ScopeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text contains a character RFC 6749 §3.3 does not allow in a scope, or is empty.
    case invalidScope(String)

    package var description: String {
        switch self {
        case .invalidScope(let text):
            // Scope strings are not secrets, but a hostile server could send megabytes.
            let shown = text.count > 64 ? String(text.prefix(64)) + "…" : text
            return "invalid OAuth scope \"\(shown)\" (RFC 6749 §3.3 allows printable ASCII except space, \" and \\)"
        }
    }
}
