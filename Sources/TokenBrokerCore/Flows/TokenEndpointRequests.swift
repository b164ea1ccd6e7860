#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif
/// A form POST to an OAuth endpoint, ready to send. Its body and `Authorization`
/// header carry secrets, so both are ``Secret``s.
package struct OAuthFormPost: Sendable, Equatable {
    /// The endpoint.
    package var url: HTTPURL
    /// `application/x-www-form-urlencoded` body.
    package var body: Secret
    /// The `Authorization` header value for `client_secret_basic`, else `nil`.
    package var authorization: Secret?

    /// The body's pairs, decoded (for tests and fault injection).
    package var formFields: [(String, String)] { FormURLEncoding.decode(body.exposedValue) }

    package static func == (lhs: OAuthFormPost, rhs: OAuthFormPost) -> Bool {
        lhs.url == rhs.url && lhs.body == rhs.body && lhs.authorization == rhs.authorization
    }
}

/// Builds the token endpoint and revocation requests, with `resource` (RFC 8707) on
/// every token request and client authentication as registered.
package enum OAuthRequests {
    /// Exchanges an authorization code (RFC 6749 §4.1.3 + PKCE + RFC 8707).
    package static func authorizationCodeExchange(
        tokenEndpoint: HTTPURL, code: Secret, redirectURI: String, verifier: Secret, resource: ResourceURI,
        client: ClientCredentials, now: Date
    ) -> OAuthFormPost {
        post(tokenEndpoint, client: client, now: now, fields: [
            ("grant_type", "authorization_code"),
            ("code", code.exposedValue),
            ("redirect_uri", redirectURI),
            ("code_verifier", verifier.exposedValue),
            ("resource", resource.string),
        ])
    }

    /// Refreshes (RFC 6749 §6 + RFC 8707). No `scope` unless `scopes` asks for a narrower
    /// token: an omitted scope means the scopes originally granted, and
    /// django-oauth-toolkit makes a narrowed refresh permanent.
    package static func refresh(
        tokenEndpoint: HTTPURL, refreshToken: Secret, resource: ResourceURI, client: ClientCredentials, now: Date,
        scopes: ScopeSet? = nil
    ) -> OAuthFormPost {
        var fields = [("grant_type", "refresh_token"), ("refresh_token", refreshToken.exposedValue)]
        if let scopes, !scopes.isEmpty { fields.append(("scope", scopes.spaceDelimited)) }
        fields.append(("resource", resource.string))
        return post(tokenEndpoint, client: client, now: now, fields: fields)
    }

    /// Starts a device sign-in (RFC 8628 §3.1 + RFC 8707); an empty `scopes` leaves
    /// `scope` out.
    package static func deviceAuthorization(
        endpoint: HTTPURL, scopes: ScopeSet, resource: ResourceURI, client: ClientCredentials, now: Date
    ) -> OAuthFormPost {
        var fields: [(String, String)] = []
        if !scopes.isEmpty { fields.append(("scope", scopes.spaceDelimited)) }
        fields.append(("resource", resource.string))
        return post(endpoint, client: client, now: now, fields: fields)
    }

    /// Asks for a token as the client itself (RFC 6749 §4.4.2 + RFC 8707): no person, no
    /// refresh token expected. An empty `scopes` leaves `scope` out.
    package static func clientCredentials(
        tokenEndpoint: HTTPURL, scopes: ScopeSet, resource: ResourceURI, client: ClientCredentials, now: Date
    ) -> OAuthFormPost {
        var fields = [("grant_type", "client_credentials")]
        if !scopes.isEmpty { fields.append(("scope", scopes.spaceDelimited)) }
        fields.append(("resource", resource.string))
        return post(tokenEndpoint, client: client, now: now, fields: fields)
    }

    /// Asks whether the person approved a device sign-in (RFC 8628 §3.4 + RFC 8707).
    package static func deviceCodePoll(
        tokenEndpoint: HTTPURL, deviceCode: Secret, resource: ResourceURI, client: ClientCredentials, now: Date
    ) -> OAuthFormPost {
        post(tokenEndpoint, client: client, now: now, fields: [
            ("grant_type", DeviceAuthorization.grantType),
            ("device_code", deviceCode.exposedValue),
            ("resource", resource.string),
        ])
    }

    /// Revokes a token (RFC 7009). A public client also sends an empty `client_secret`:
    /// the MCP Python SDK's server requires the field to be present.
    package static func revocation(
        revocationEndpoint: HTTPURL, token: Secret, hint: String, client: ClientCredentials, now: Date
    ) -> OAuthFormPost {
        var fields = [("token", token.exposedValue), ("token_type_hint", hint)]
        if client.authenticationMethod == .none { fields.append(("client_secret", "")) }
        return post(revocationEndpoint, client: client, now: now, fields: fields)
    }

    /// `now` dates a client assertion; the other methods do not use it.
    private static func post(_ url: HTTPURL, client: ClientCredentials, now: Date, fields: [(String, String)]) -> OAuthFormPost {
        var fields = fields
        // client_id always travels in the body: the MCP SDK's server needs it even with Basic.
        fields.append(("client_id", client.clientID))
        var authorization: Secret?
        switch (client.authenticationMethod, client.clientSecret) {
        case (.clientSecretBasic, let secret?):
            let pair = FormURLEncoding.escape(client.clientID) + ":" + FormURLEncoding.escape(secret.exposedValue)
            authorization = Secret("Basic " + Data(pair.utf8).base64EncodedString())
        case (.clientSecretPost, let secret?):
            fields.append(("client_secret", secret.exposedValue))
        case (.privateKeyJWT, _):
            // A key that cannot sign leaves the request unauthenticated: the server
            // refuses it with invalid_client, which names the client to check.
            if let key = client.assertionKey, let assertion = try? ClientAssertion.sign(clientID: client.clientID, key: key, now: now) {
                fields.append(("client_assertion_type", ClientAssertion.type))
                fields.append(("client_assertion", assertion.exposedValue))
            }
        default:
            break
        }
        return OAuthFormPost(url: url, body: Secret(FormURLEncoding.encode(fields)), authorization: authorization)
    }
}
