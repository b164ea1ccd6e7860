#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

/// A successful token endpoint response (RFC 6749 §5.1).
package struct TokenResponse: Sendable, Equatable {
    /// The access token.
    package var accessToken: Secret
    /// The token type as sent; the broker only accepts `Bearer` (in any case).
    package var tokenType: String
    /// `expires_in` in seconds, when given.
    package var expiresIn: Int?
    /// A (possibly rotated) refresh token, when given.
    package var refreshToken: Secret?
    /// The granted scopes when the server said; `nil` when it omitted `scope`.
    package var scope: ScopeSet?

    /// Creates a response.
    package init(accessToken: Secret, tokenType: String = "Bearer", expiresIn: Int? = nil, refreshToken: Secret? = nil, scope: ScopeSet? = nil) {
        self.accessToken = accessToken
        self.tokenType = tokenType
        self.expiresIn = expiresIn
        self.refreshToken = refreshToken
        self.scope = scope
    }

    /// Decodes a token endpoint body.
    ///
    /// Tolerates what real servers send: `expires_in` as a number or a numeric string,
    /// `scope` as a space-delimited string or an array, `token_type` in any case.
    /// Refuses what the broker cannot use safely: no `access_token`, a token type other
    /// than Bearer, scopes with invalid characters.
    package static func decode(_ body: Data) throws(TokenResponseError) -> TokenResponse {
        let raw: RawTokenResponse
        do {
            raw = try JSONDecoder().decode(RawTokenResponse.self, from: body)
        } catch {
            throw .malformed
        }
        guard let accessToken = raw.accessToken, !accessToken.isEmpty else { throw .missingAccessToken }
        guard let tokenType = raw.tokenType else { throw .missingTokenType }
        guard tokenType.lowercased() == "bearer" else { throw .unsupportedTokenType(String(tokenType.prefix(32))) }

        var scope: ScopeSet?
        switch raw.scope {
        case .none:
            scope = nil
        case .text(let text):
            do { scope = try ScopeSet(parsing: text) } catch { throw .invalidScope }
        case .list(let strings):
            do { scope = try ScopeSet(validating: strings) } catch { throw .invalidScope }
        }

        return TokenResponse(
            accessToken: Secret(accessToken),
            tokenType: tokenType,
            expiresIn: raw.expiresIn,
            refreshToken: raw.refreshToken.flatMap { $0.isEmpty ? nil : Secret($0) },
            scope: scope
        )
    }
}

/// An OAuth error response body (RFC 6749 §5.2).
package struct OAuthErrorResponse: Sendable, Equatable, Decodable {
    /// The error code, e.g. `invalid_grant`.
    package var error: OAuthErrorCode
    /// Human-readable text from the server; may be absent.
    package var errorDescription: String?

    /// Creates an error response.
    package init(error: OAuthErrorCode, errorDescription: String? = nil) {
        self.error = error
        self.errorDescription = errorDescription
    }

    enum CodingKeys: String, CodingKey {
        case error
        case errorDescription = "error_description"
    }

    /// Decodes an error body, or `nil` when the body is not one (DOT labels JSON as text/html).
    package static func decode(_ body: Data) -> OAuthErrorResponse? {
        try? JSONDecoder().decode(OAuthErrorResponse.self, from: body)
    }
}

/// Why a token endpoint answer could not be used.
package enum TokenResponseError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed
    case missingAccessToken
    case missingTokenType
    case unsupportedTokenType(String)
    case invalidScope

    package var description: String {
        switch self {
        case .malformed: "the token endpoint answered with something that is not a token response"
        case .missingAccessToken: "the token endpoint's response has no access_token"
        case .missingTokenType: "the token endpoint's response has no token_type"
        case .unsupportedTokenType(let type): "the token endpoint issued a \(type) token; only Bearer tokens are supported"
        case .invalidScope: "the token endpoint's response has a scope with characters RFC 6749 §3.3 does not allow"
        }
    }
}

/// The wire shape, lenient in types.
private struct RawTokenResponse: Decodable {
    enum ScopeValue {
        case text(String)
        case list([String])
    }

    var accessToken: String?
    var tokenType: String?
    var expiresIn: Int?
    var refreshToken: String?
    var scope: ScopeValue?

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
        case refreshToken = "refresh_token"
        case scope
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        accessToken = try container.decodeIfPresent(String.self, forKey: .accessToken)
        tokenType = try container.decodeIfPresent(String.self, forKey: .tokenType)
        refreshToken = try container.decodeIfPresent(String.self, forKey: .refreshToken)

        if let seconds = try? container.decodeIfPresent(Int.self, forKey: .expiresIn) {
            expiresIn = seconds
        } else if let seconds = try? container.decodeIfPresent(Double.self, forKey: .expiresIn),
            seconds.isFinite, abs(seconds) < 1e12
        {
            expiresIn = Int(seconds)
        } else if let text = try? container.decodeIfPresent(String.self, forKey: .expiresIn) {
            expiresIn = Int(text.split(separator: " ").first ?? "")
        }

        if let text = try? container.decodeIfPresent(String.self, forKey: .scope) {
            scope = .text(text)
        } else if let list = try? container.decodeIfPresent([String].self, forKey: .scope) {
            scope = .list(list)
        }
    }
}
