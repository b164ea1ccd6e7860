/// Protected resource metadata the broker has checked and may act on.
package struct ValidatedProtectedResource: Equatable, Sendable {
    /// The resource the server declares, canonical: the key of the grant and the RFC
    /// 8707 `resource` value sent to the authorization server.
    package var resource: ResourceURI
    /// Issuer identifiers exactly as listed (they are compared to metadata `issuer` as
    /// strings), each already checked against the transport policy: the first usable
    /// ones, at most ``DiscoveryURLs/maximumAuthorizationServersTried``.
    package var authorizationServers: [String]
    /// `scopes_supported`, or empty.
    package var scopesSupported: ScopeSet
}

/// Authorization server metadata the broker has checked and may act on.
package struct ValidatedAuthorizationServer: Equatable, Sendable {
    /// The `issuer` of the metadata: what an RFC 9207 `iss` must equal exactly.
    package var issuer: String
    /// `nil` for a server that offers no authorization-code sign-in (client credentials only).
    package var authorizationEndpoint: HTTPURL?
    /// Why no authorization-code (browser) sign-in can be made with this server, if none
    /// can: no PKCE `S256`, no `code` response type, or no authorization endpoint. Such a
    /// server still serves client credentials and device sign-ins, which use no
    /// authorization code; a browser sign-in is refused with this reason.
    package var authorizationCodeRefusal: DiscoveryError?
    package var tokenEndpoint: HTTPURL
    package var registrationEndpoint: HTTPURL?
    package var revocationEndpoint: HTTPURL?
    /// RFC 8628's device authorization endpoint, when the server offers device sign-ins.
    package var deviceAuthorizationEndpoint: HTTPURL?
    /// `scopes_supported`, or empty. Only consulted for `offline_access`.
    package var scopesSupported: ScopeSet
    /// Whether the server promises `iss` in authorization responses (RFC 9207).
    package var issParameterSupported: Bool
    /// Whether the server accepts Client ID Metadata Document URLs as `client_id`.
    package var clientIDMetadataDocumentSupported: Bool
    /// `token_endpoint_auth_methods_supported`; RFC 8414's default when absent.
    package var tokenEndpointAuthMethods: [String]
}

/// Why discovered metadata may not be used; maps to `discovery_failed` on the wire.
///
/// Values from the server are shortened in messages: a hostile server could send megabytes.
package enum DiscoveryError: Error, Equatable, Sendable, CustomStringConvertible {
    case resourceMissing
    case resourceMismatch(expected: String, declared: String)
    case noAuthorizationServers
    case issuerMismatch(expected: String, declared: String?)
    case pkceS256NotSupported(issuer: String)
    case authorizationCodeNotSupported(issuer: String)
    case missingEndpoint(String)
    case invalidEndpoint(String, HTTPURLError)
    case endpointHasQueryOrFragment(String)
    case insecureEndpoint(String, TransportPolicyViolation)
    case invalidScopes(String)

    package var description: String {
        switch self {
        case .resourceMissing:
            "the protected resource metadata has no \"resource\""
        case .resourceMismatch(let expected, let declared):
            "the protected resource metadata is for \(shorten(declared)), not for \(shorten(expected)); refusing to use it"
        case .noAuthorizationServers:
            "the protected resource metadata lists no usable authorization server"
        case .issuerMismatch(let expected, let declared):
            "the authorization server metadata names the issuer \(declared.map(shorten) ?? "(none)") but was fetched for \(shorten(expected)); refusing to use it"
        case .pkceS256NotSupported(let issuer):
            "the authorization server \(shorten(issuer)) does not advertise PKCE with S256 (code_challenge_methods_supported), which MCP requires"
        case .authorizationCodeNotSupported(let issuer):
            "the authorization server \(shorten(issuer)) does not support the authorization code flow"
        case .missingEndpoint(let name):
            "the authorization server metadata has no \(name)"
        case .invalidEndpoint(let name, let error):
            "the \(name) \(error)"
        case .endpointHasQueryOrFragment(let name):
            "the \(name) has a fragment (or, for an issuer, a query), which RFC 8414 forbids"
        case .insecureEndpoint(let name, let violation):
            "the \(name) \(violation)"
        case .invalidScopes(let field):
            "the metadata field \(field) holds a value that is not a valid OAuth scope"
        }
    }
}

private func shorten(_ text: String) -> String {
    text.count > 200 ? String(text.prefix(200)) + "…" : text
}

/// The checks that decide whether discovered metadata may be trusted.
package enum MetadataValidation {
    /// Checks protected resource metadata fetched while trying to reach `serverURL`.
    ///
    /// The declared `resource` must be the server URL itself, or the same origin with a
    /// path that is a whole-segment prefix of the server's path (the rule of the MCP
    /// TypeScript SDK and of RFC 9728bis): a resource at the origin may serve `/mcp`,
    /// and `https://a/api` may serve `https://a/api/files`, but nothing may speak for
    /// another origin or for `https://a/apiary`. Comparison is on canonical forms.
    package static func validateProtectedResource(
        _ metadata: ProtectedResourceMetadata, serverURL: HTTPURL, policy: TransportPolicy
    ) throws(DiscoveryError) -> ValidatedProtectedResource {
        guard let declaredText = metadata.resource, !declaredText.isEmpty else { throw .resourceMissing }
        let server = ResourceURI(canonical: serverURL)
        let declared: ResourceURI
        do {
            declared = try ResourceURI(declaredText, policy: policy)
        } catch {
            throw .resourceMismatch(expected: server.string, declared: declaredText)
        }
        guard declared.covers(server) else {
            throw .resourceMismatch(expected: server.string, declared: declared.string)
        }

        // Only as many as discovery will try: a document naming thousands costs no more.
        var issuers: [String] = []
        for issuer in metadata.authorizationServers ?? [] {
            guard issuers.count < DiscoveryURLs.maximumAuthorizationServersTried else { break }
            if (try? checkIssuerURL(issuer, policy: policy)) != nil, !issuers.contains(issuer) {
                issuers.append(issuer)
            }
        }
        guard !issuers.isEmpty else { throw .noAuthorizationServers }

        let scopes: ScopeSet
        do {
            scopes = try ScopeSet(validating: metadata.scopesSupported ?? [])
        } catch {
            throw .invalidScopes("scopes_supported")
        }
        return ValidatedProtectedResource(resource: declared, authorizationServers: issuers, scopesSupported: scopes)
    }

    /// Checks authorization server metadata fetched for `expectedIssuer` (the string
    /// from the protected resource metadata, used to build the well-known URL).
    ///
    /// The metadata `issuer` must be identical to `expectedIssuer` (RFC 8414 §3.3,
    /// MCP SEP-2468) with one allowance: for an issuer without a path, `https://as` and
    /// `https://as/` are the same, because real servers list one form in PRM and
    /// publish the other as issuer. Every endpoint given must pass the transport policy;
    /// what a browser sign-in also needs (PKCE `S256`, the `code` response type, an
    /// authorization endpoint) is recorded in ``ValidatedAuthorizationServer/authorizationCodeRefusal``.
    package static func validateAuthorizationServer(
        _ metadata: AuthorizationServerMetadata, expectedIssuer: String, policy: TransportPolicy
    ) throws(DiscoveryError) -> ValidatedAuthorizationServer {
        guard let issuer = metadata.issuer, issuersMatch(declared: issuer, expected: expectedIssuer) else {
            throw .issuerMismatch(expected: expectedIssuer, declared: metadata.issuer)
        }
        _ = try checkIssuerURL(issuer, policy: policy)

        // Checked here, refused only when a browser sign-in would start (MCP requires PKCE
        // S256 of the authorization-code flow, not of the grants that have no code).
        let authorizationCodeRefusal: DiscoveryError?
        if metadata.codeChallengeMethodsSupported?.contains("S256") != true {
            authorizationCodeRefusal = .pkceS256NotSupported(issuer: issuer)
        } else if let responseTypes = metadata.responseTypesSupported, !responseTypes.contains("code") {
            authorizationCodeRefusal = .authorizationCodeNotSupported(issuer: issuer)
        } else if metadata.authorizationEndpoint == nil {
            authorizationCodeRefusal = .missingEndpoint("authorization_endpoint")
        } else {
            authorizationCodeRefusal = nil
        }

        let scopes: ScopeSet
        do {
            scopes = try ScopeSet(validating: metadata.scopesSupported ?? [])
        } catch {
            throw .invalidScopes("scopes_supported")
        }

        return ValidatedAuthorizationServer(
            issuer: issuer,
            authorizationEndpoint: try metadata.authorizationEndpoint.map { (text) throws(DiscoveryError) in
                try endpoint(text, "authorization_endpoint", policy)
            },
            authorizationCodeRefusal: authorizationCodeRefusal,
            tokenEndpoint: try endpoint(metadata.tokenEndpoint, "token_endpoint", policy),
            registrationEndpoint: try metadata.registrationEndpoint.map { (text) throws(DiscoveryError) in
                try endpoint(text, "registration_endpoint", policy)
            },
            revocationEndpoint: try metadata.revocationEndpoint.map { (text) throws(DiscoveryError) in
                try endpoint(text, "revocation_endpoint", policy)
            },
            deviceAuthorizationEndpoint: try metadata.deviceAuthorizationEndpoint.map { (text) throws(DiscoveryError) in
                try endpoint(text, "device_authorization_endpoint", policy)
            },
            scopesSupported: scopes,
            issParameterSupported: metadata.authorizationResponseIssParameterSupported == true,
            clientIDMetadataDocumentSupported: metadata.clientIdMetadataDocumentSupported == true,
            tokenEndpointAuthMethods: metadata.tokenEndpointAuthMethodsSupported ?? ["client_secret_basic"]
        )
    }

    /// Exact equality, except that an empty path and `/` are the same.
    package static func issuersMatch(declared: String, expected: String) -> Bool {
        if declared == expected { return true }
        let (longer, shorter) = declared.count > expected.count ? (declared, expected) : (expected, declared)
        guard longer == shorter + "/", let url = try? HTTPURL(parsing: shorter) else { return false }
        return url.path.isEmpty && url.query == nil && url.fragment == nil
    }

    /// Parses an issuer identifier and applies the transport policy.
    static func checkIssuerURL(_ text: String, policy: TransportPolicy) throws(DiscoveryError) -> HTTPURL {
        let url: HTTPURL
        do {
            url = try HTTPURL(parsing: text)
        } catch {
            throw .invalidEndpoint("issuer", error)
        }
        guard url.query == nil, url.fragment == nil else { throw .endpointHasQueryOrFragment("issuer") }
        do {
            try policy.check(url)
        } catch {
            throw .insecureEndpoint("issuer", error)
        }
        return url
    }

    private static func endpoint(_ text: String?, _ name: String, _ policy: TransportPolicy) throws(DiscoveryError)
        -> HTTPURL
    {
        guard let text else { throw .missingEndpoint(name) }
        let url: HTTPURL
        do {
            url = try HTTPURL(parsing: text)
        } catch {
            throw .invalidEndpoint(name, error)
        }
        guard url.fragment == nil else { throw .endpointHasQueryOrFragment(name) }
        do {
            try policy.check(url)
        } catch {
            throw .insecureEndpoint(name, error)
        }
        return url
    }
}
