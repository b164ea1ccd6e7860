/// OAuth 2.0 Protected Resource Metadata (RFC 9728 §2), the fields the broker reads.
/// Unknown fields are ignored.
package struct ProtectedResourceMetadata: Codable, Equatable, Sendable {
    /// The resource identifier the server claims.
    package var resource: String?
    /// Issuer identifiers of the authorization servers that protect it.
    package var authorizationServers: [String]?
    /// Scopes the resource uses; MCP's fallback when a challenge names none.
    package var scopesSupported: [String]?
    /// How the resource accepts bearer tokens (`header`…).
    package var bearerMethodsSupported: [String]?
    /// A human-readable name.
    package var resourceName: String?

    /// Creates metadata.
    package init(
        resource: String?, authorizationServers: [String]? = nil, scopesSupported: [String]? = nil,
        bearerMethodsSupported: [String]? = nil, resourceName: String? = nil
    ) {
        self.resource = resource
        self.authorizationServers = authorizationServers
        self.scopesSupported = scopesSupported
        self.bearerMethodsSupported = bearerMethodsSupported
        self.resourceName = resourceName
    }

    enum CodingKeys: String, CodingKey {
        case resource
        case authorizationServers = "authorization_servers"
        case scopesSupported = "scopes_supported"
        case bearerMethodsSupported = "bearer_methods_supported"
        case resourceName = "resource_name"
    }
}

/// OAuth 2.0 Authorization Server Metadata (RFC 8414 §2) or OpenID Connect Discovery,
/// the fields the broker reads. Unknown fields are ignored.
package struct AuthorizationServerMetadata: Codable, Equatable, Sendable {
    package var issuer: String?
    package var authorizationEndpoint: String?
    package var tokenEndpoint: String?
    package var registrationEndpoint: String?
    package var revocationEndpoint: String?
    /// RFC 8628: where a device sign-in starts.
    package var deviceAuthorizationEndpoint: String?
    package var scopesSupported: [String]?
    package var responseTypesSupported: [String]?
    package var grantTypesSupported: [String]?
    package var codeChallengeMethodsSupported: [String]?
    package var tokenEndpointAuthMethodsSupported: [String]?
    package var revocationEndpointAuthMethodsSupported: [String]?
    /// RFC 9207: the server puts `iss` in every authorization response.
    package var authorizationResponseIssParameterSupported: Bool?
    /// The server accepts an https URL as `client_id` (Client ID Metadata Documents).
    package var clientIdMetadataDocumentSupported: Bool?

    /// Creates metadata.
    package init(
        issuer: String?, authorizationEndpoint: String?, tokenEndpoint: String?,
        registrationEndpoint: String? = nil, revocationEndpoint: String? = nil, scopesSupported: [String]? = nil,
        responseTypesSupported: [String]? = ["code"], grantTypesSupported: [String]? = nil,
        codeChallengeMethodsSupported: [String]? = ["S256"], tokenEndpointAuthMethodsSupported: [String]? = nil,
        revocationEndpointAuthMethodsSupported: [String]? = nil,
        authorizationResponseIssParameterSupported: Bool? = nil, clientIdMetadataDocumentSupported: Bool? = nil
    ) {
        self.issuer = issuer
        self.authorizationEndpoint = authorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.registrationEndpoint = registrationEndpoint
        self.revocationEndpoint = revocationEndpoint
        self.scopesSupported = scopesSupported
        self.responseTypesSupported = responseTypesSupported
        self.grantTypesSupported = grantTypesSupported
        self.codeChallengeMethodsSupported = codeChallengeMethodsSupported
        self.tokenEndpointAuthMethodsSupported = tokenEndpointAuthMethodsSupported
        self.revocationEndpointAuthMethodsSupported = revocationEndpointAuthMethodsSupported
        self.authorizationResponseIssParameterSupported = authorizationResponseIssParameterSupported
        self.clientIdMetadataDocumentSupported = clientIdMetadataDocumentSupported
    }

    enum CodingKeys: String, CodingKey {
        case issuer
        case authorizationEndpoint = "authorization_endpoint"
        case tokenEndpoint = "token_endpoint"
        case registrationEndpoint = "registration_endpoint"
        case revocationEndpoint = "revocation_endpoint"
        case deviceAuthorizationEndpoint = "device_authorization_endpoint"
        case scopesSupported = "scopes_supported"
        case responseTypesSupported = "response_types_supported"
        case grantTypesSupported = "grant_types_supported"
        case codeChallengeMethodsSupported = "code_challenge_methods_supported"
        case tokenEndpointAuthMethodsSupported = "token_endpoint_auth_methods_supported"
        case revocationEndpointAuthMethodsSupported = "revocation_endpoint_auth_methods_supported"
        case authorizationResponseIssParameterSupported = "authorization_response_iss_parameter_supported"
        case clientIdMetadataDocumentSupported = "client_id_metadata_document_supported"
    }
}
