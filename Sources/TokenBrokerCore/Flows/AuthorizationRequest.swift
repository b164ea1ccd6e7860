/// One authorization code request (RFC 6749 §4.1.1 with PKCE, RFC 8707 and `state`).
package struct AuthorizationRequest: Sendable, Equatable {
    /// The server's `authorization_endpoint`.
    package var authorizationEndpoint: HTTPURL
    /// The client identifier registered at this issuer.
    package var clientID: String
    /// The loopback callback registered for the client.
    package var redirectURI: String
    /// The scopes to ask for; empty means the `scope` parameter is left out.
    package var scopes: ScopeSet
    /// The canonical resource, sent as RFC 8707 `resource`.
    package var resource: ResourceURI
    /// Binds the callback to this request.
    package var state: AuthorizationState
    /// The PKCE pair; only its challenge goes into the URL.
    package var pkce: PKCE

    /// Creates a request.
    package init(
        authorizationEndpoint: HTTPURL, clientID: String, redirectURI: String, scopes: ScopeSet,
        resource: ResourceURI, state: AuthorizationState, pkce: PKCE
    ) {
        self.authorizationEndpoint = authorizationEndpoint
        self.clientID = clientID
        self.redirectURI = redirectURI
        self.scopes = scopes
        self.resource = resource
        self.state = state
        self.pkce = pkce
    }

    /// The URL a person opens to sign in. It holds no secret: the verifier stays here.
    package var url: String {
        var pairs: [(String, String)] = [
            ("response_type", "code"),
            ("client_id", clientID),
            ("redirect_uri", redirectURI),
            ("code_challenge", pkce.challenge),
            ("code_challenge_method", PKCE.method),
            ("state", state.value),
        ]
        if !scopes.isEmpty { pairs.append(("scope", scopes.spaceDelimited)) }
        pairs.append(("resource", resource.string))
        let query = FormURLEncoding.encode(pairs)
        let prefix = authorizationEndpoint.origin + authorizationEndpoint.path + "?"
        // An endpoint may carry its own query (RFC 6749 §3.1 allows it); keep it and append.
        if let existing = authorizationEndpoint.query, !existing.isEmpty {
            return prefix + existing + "&" + query
        }
        return prefix + query
    }
}

/// Why an authorization response (the redirect to the callback) was not accepted;
/// maps to `authorization_failed` on the wire.
package enum AuthorizationResponseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `state` is missing or belongs to no request in progress.
    case stateMismatch
    /// A parameter appears twice, so the response is ambiguous.
    case duplicateParameter(String)
    /// The server promised `iss` (RFC 9207) but the response has none.
    case issuerMissing
    /// `iss` is not exactly the issuer the request was sent to: a possible mix-up attack.
    case issuerMismatch
    /// The person or the server refused; `error` is the OAuth error code.
    case refused(error: String, description: String?)
    /// Neither `code` nor `error` came back.
    case missingCode

    /// The OAuth error code for `data.error`, when there is one.
    package var oauthError: OAuthErrorCode? {
        if case .refused(let error, _) = self { return OAuthErrorCode(rawValue: error) }
        return nil
    }

    package var description: String {
        switch self {
        case .stateMismatch:
            "the sign-in response does not belong to a sign-in in progress (state mismatch)"
        case .duplicateParameter(let name):
            "the sign-in response repeats the parameter \(name.prefix(32))"
        case .issuerMissing:
            "the authorization server promised to identify itself (iss) but did not; the response was discarded"
        case .issuerMismatch:
            "the sign-in response came from a different authorization server than the one asked (iss mismatch); it was discarded"
        case .refused(let error, let description):
            "the authorization server refused: \(error.prefix(64))"
                + (description.map { " (\($0.prefix(200)))" } ?? "")
        case .missingCode:
            "the sign-in response carries no authorization code"
        }
    }
}

/// Checks the redirect an authorization server sent to the callback.
package enum AuthorizationResponse {
    /// Validates the callback's query and returns the authorization code.
    ///
    /// Order matters: `state` first, then RFC 9207 `iss` (compared as exact strings, no
    /// normalisation of any kind), and only then `error`: after an `iss` mismatch the
    /// response's `error` fields must not be acted on or shown.
    ///
    /// - Parameters:
    ///   - query: the callback URL's query string, undecoded.
    ///   - expectedState: the `state` of the request in progress.
    ///   - expectedIssuer: the validated metadata `issuer` recorded with the request.
    ///   - issParameterSupported: `authorization_response_iss_parameter_supported`.
    package static func validate(
        query: String, expectedState: AuthorizationState, expectedIssuer: String, issParameterSupported: Bool
    ) throws(AuthorizationResponseError) -> Secret {
        var parameters: [String: String] = [:]
        for (name, value) in FormURLEncoding.decode(query) {
            guard parameters[name] == nil else { throw .duplicateParameter(name) }
            parameters[name] = value
        }

        guard let state = parameters["state"], constantTimeEquals(state, expectedState.value) else {
            throw .stateMismatch
        }
        try validateIssuer(parameters["iss"], expected: expectedIssuer, supported: issParameterSupported)

        if let error = parameters["error"] {
            throw .refused(error: error, description: parameters["error_description"])
        }
        guard let code = parameters["code"], !code.isEmpty else { throw .missingCode }
        return Secret(code)
    }

    /// RFC 9207 §2.4: advertised and absent is a rejection; present is compared exactly.
    package static func validateIssuer(_ iss: String?, expected: String, supported: Bool)
        throws(AuthorizationResponseError)
    {
        guard let iss else {
            if supported { throw .issuerMissing }
            return
        }
        guard iss == expected else { throw .issuerMismatch }
    }

    private static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}
