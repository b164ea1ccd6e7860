/// One challenge of a `WWW-Authenticate` field (RFC 9110 §11.6.1).
package struct AuthenticationChallenge: Equatable, Sendable {
    /// The auth scheme, lowercased (`bearer`, `basic`, `dpop`…): schemes are case-insensitive.
    package var scheme: String
    /// The `token68` form, when the challenge carries one instead of parameters.
    package var token68: String?
    /// Parameters in their order, names lowercased (names are case-insensitive), values
    /// unquoted and unescaped.
    package var parameters: [(name: String, value: String)]

    /// Creates a challenge.
    package init(scheme: String, token68: String? = nil, parameters: [(name: String, value: String)] = []) {
        self.scheme = scheme
        self.token68 = token68
        self.parameters = parameters
    }

    /// The value of the parameter `name` (case-insensitive), if present.
    package func parameter(_ name: String) -> String? {
        let wanted = name.lowercased()
        return parameters.first { $0.name == wanted }?.value
    }

    package static func == (lhs: AuthenticationChallenge, rhs: AuthenticationChallenge) -> Bool {
        lhs.scheme == rhs.scheme && lhs.token68 == rhs.token68
            && lhs.parameters.map(\.name) == rhs.parameters.map(\.name)
            && lhs.parameters.map(\.value) == rhs.parameters.map(\.value)
    }
}

/// What a `Bearer` challenge tells an OAuth client (RFC 6750 §3, RFC 9728 §5.1).
package struct BearerChallenge: Equatable, Sendable {
    /// `error`, e.g. `invalid_token` or `insufficient_scope`.
    package var error: String?
    /// `error_description`, human-readable text from the server.
    package var errorDescription: String?
    /// `scope`: the scopes the server says the current operation needs.
    package var scope: ScopeSet?
    /// `resource_metadata`: where the protected resource metadata lives.
    package var resourceMetadata: String?

    /// Creates a Bearer challenge.
    package init(error: String? = nil, errorDescription: String? = nil, scope: ScopeSet? = nil, resourceMetadata: String? = nil) {
        self.error = error
        self.errorDescription = errorDescription
        self.scope = scope
        self.resourceMetadata = resourceMetadata
    }

    /// True when the server reported `error="insufficient_scope"`.
    package var isInsufficientScope: Bool { error == "insufficient_scope" }
}

/// Why a `WWW-Authenticate` value could not be read. Carries no part of the input
/// beyond a byte offset: the value came from a server and may be hostile.
package struct ChallengeParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong.
    package enum Kind: Equatable, Sendable {
        case tooLong
        case unterminatedQuotedString
        case invalidCharacter
        case expectedScheme
        case expectedParameterValue
        case duplicateParameter(String)
        case invalidScope
    }

    /// What went wrong.
    package var kind: Kind
    /// The byte offset in the (joined) header value where it went wrong.
    package var offset: Int

    /// Creates an error.
    package init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    package var description: String {
        let what: String
        switch kind {
        case .tooLong: what = "is longer than \(WWWAuthenticate.maximumLength) bytes"
        case .unterminatedQuotedString: what = "has an unterminated quoted string"
        case .invalidCharacter: what = "contains a character that is not allowed"
        case .expectedScheme: what = "has something other than an auth scheme where a challenge should start"
        case .expectedParameterValue: what = "has a parameter without a value"
        case .duplicateParameter(let name): what = "repeats the parameter \"\(name.prefix(32))\" in one challenge"
        case .invalidScope: what = "has a scope parameter with characters RFC 6749 §3.3 does not allow"
        }
        return "the WWW-Authenticate value \(what) (at byte \(offset))"
    }
}
