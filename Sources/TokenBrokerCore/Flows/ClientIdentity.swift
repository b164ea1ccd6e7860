/// How a client authenticates at the token and revocation endpoints (RFC 7591 §2).
package enum ClientAuthenticationMethod: String, Sendable, Equatable, Codable {
    /// A public client: `client_id` only.
    case none
    /// HTTP Basic with the form-encoded id and secret (RFC 6749 §2.3.1).
    case clientSecretBasic = "client_secret_basic"
    /// `client_id` and `client_secret` in the form body.
    case clientSecretPost = "client_secret_post"
    /// A JWT signed with the client's private key (RFC 7523 §2.2, OpenID Connect Core §9).
    case privateKeyJWT = "private_key_jwt"
}

/// Which grant a client uses to get tokens.
package enum ClientGrantType: String, Sendable, Equatable {
    /// A person signs in (authorization code with PKCE, or the device grant).
    case authorizationCode = "authorization_code"
    /// The client acts on its own behalf (RFC 6749 §4.4; MCP extension
    /// `io.modelcontextprotocol/oauth-client-credentials`): no person, no browser.
    case clientCredentials = "client_credentials"
}

/// A client identifier at one authorization server, with its secret if it has one.
package struct ClientCredentials: Sendable, Equatable {
    /// The `client_id`.
    package var clientID: String
    /// The client secret, for confidential clients.
    package var clientSecret: Secret?
    /// How to present the credentials.
    package var authenticationMethod: ClientAuthenticationMethod
    /// The key that signs client assertions, for `private_key_jwt`.
    package var assertionKey: ClientAssertionKey?

    /// Creates credentials for a public client or one with a secret.
    package init(clientID: String, clientSecret: Secret? = nil, authenticationMethod: ClientAuthenticationMethod = .none) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        // A secret method without a secret, or private_key_jwt without a key, authenticates as nothing.
        self.authenticationMethod =
            clientSecret == nil || authenticationMethod == .privateKeyJWT ? .none : authenticationMethod
    }

    /// Creates credentials that authenticate with a signed assertion (`private_key_jwt`).
    package init(clientID: String, assertionKey: ClientAssertionKey) {
        self.clientID = clientID
        self.clientSecret = nil
        self.authenticationMethod = .privateKeyJWT
        self.assertionKey = assertionKey
    }
}

/// A client configured by the operator for one authorization server (config `[[client]]`).
package struct PreregisteredClient: Sendable, Equatable {
    /// The issuer these credentials belong to; they are never sent anywhere else.
    package var issuer: String
    /// The credentials.
    package var credentials: ClientCredentials
    /// How it gets tokens: a person signing in, or client credentials.
    package var grantType: ClientGrantType
    /// The MCP servers it is for; empty: every resource whose authorization server is
    /// `issuer`. An entry names a server by its URL or by its resource identifier, which
    /// may be the URL's origin or a prefix of its path (``ResourceURI/covers(_:)``).
    package var resources: [ResourceURI]

    /// Creates a pre-registered client.
    package init(
        issuer: String, credentials: ClientCredentials, grantType: ClientGrantType = .authorizationCode,
        resources: [ResourceURI] = []
    ) {
        self.issuer = issuer
        self.credentials = credentials
        self.grantType = grantType
        self.resources = resources
    }

    /// True when this client is for `resource` at `issuer`.
    package func serves(_ resource: ResourceURI, at issuer: String) -> Bool {
        MetadataValidation.issuersMatch(declared: self.issuer, expected: issuer)
            && (resources.isEmpty || resources.contains { $0.covers(resource) || resource.covers($0) })
    }
}

extension [PreregisteredClient] {
    /// The configured client for `resource` at `issuer`: one named for the resource before
    /// one for every resource of the issuer, so a client-credentials entry for one server
    /// does not take over the issuer's other resources.
    package func client(for resource: ResourceURI, at issuer: String) -> PreregisteredClient? {
        first { !$0.resources.isEmpty && $0.serves(resource, at: issuer) }
            ?? first { $0.resources.isEmpty && $0.serves(resource, at: issuer) }
    }
}

/// Where the client identity for an authorization server comes from, in MCP's order.
package enum ClientIdentityChoice: Sendable, Equatable {
    /// Operator-configured credentials bound to this issuer.
    case preregistered(ClientCredentials)
    /// The https URL of a Client ID Metadata Document is the `client_id`.
    case metadataDocument(clientID: String)
    /// Register dynamically (RFC 7591) at this endpoint.
    case dynamicRegistration(endpoint: HTTPURL)
    /// None of the above is possible.
    case unavailable
}

extension ClientIdentityChoice {
    /// Chooses per MCP: pre-registered for this exact issuer (and resource), else a Client ID Metadata
    /// Document when configured and the server supports it (and sends RFC 9207 `iss`),
    /// else Dynamic Client Registration when the server has an endpoint.
    ///
    /// Credentials are bound to the issuer that issued them (SEP-2352): a pre-registered
    /// client for another issuer is never considered.
    package static func choose(
        for server: ValidatedAuthorizationServer, resource: ResourceURI, preregistered: [PreregisteredClient],
        metadataDocumentClientID: String?
    ) -> ClientIdentityChoice {
        if let client = preregistered.client(for: resource, at: server.issuer) {
            return .preregistered(client.credentials)
        }
        // A metadata document is one client_id and one redirect URI for every server, so
        // only RFC 9207 `iss` tells their responses apart (mix-up, RFC 9700 §4.4): not
        // with a server that does not send it.
        if server.clientIDMetadataDocumentSupported, server.issParameterSupported, let clientID = metadataDocumentClientID,
            isValidMetadataDocumentClientID(clientID)
        {
            return .metadataDocument(clientID: clientID)
        }
        if let endpoint = server.registrationEndpoint { return .dynamicRegistration(endpoint: endpoint) }
        return .unavailable
    }

    /// MCP: a metadata document `client_id` is an https URL with a path.
    package static func isValidMetadataDocumentClientID(_ text: String) -> Bool {
        guard let url = try? HTTPURL(parsing: text) else { return false }
        return url.scheme == "https" && !url.path.isEmpty && url.path != "/" && url.fragment == nil
    }
}

/// A Dynamic Client Registration request (RFC 7591 §2) for a native, public client.
package struct ClientRegistrationRequest: Sendable, Equatable, Encodable {
    package var redirectURIs: [String]
    package var clientName: String
    package var scope: String?
    /// SEP-837: a loopback-redirect desktop client is `native`.
    package var applicationType = "native"
    package var tokenEndpointAuthMethod = ClientAuthenticationMethod.none.rawValue
    /// SEP-2207: `refresh_token` so the server may issue refresh tokens.
    package var grantTypes = ["authorization_code", "refresh_token"]
    package var responseTypes = ["code"]

    /// Creates a request for `redirectURI`, registering `scopes` when known (the MCP
    /// SDK's server refuses later requests for scopes a client was not registered with).
    package init(redirectURI: String, clientName: String, scopes: ScopeSet, deviceFlow: Bool = false) {
        redirectURIs = [redirectURI]
        self.clientName = clientName
        scope = scopes.isEmpty ? nil : scopes.spaceDelimited
        // RFC 8628: a client registered without the grant type is refused at the device endpoint.
        if deviceFlow { grantTypes.append(DeviceAuthorization.grantType) }
    }

    enum CodingKeys: String, CodingKey {
        case redirectURIs = "redirect_uris"
        case clientName = "client_name"
        case scope
        case applicationType = "application_type"
        case tokenEndpointAuthMethod = "token_endpoint_auth_method"
        case grantTypes = "grant_types"
        case responseTypes = "response_types"
    }
}

/// The parts of a registration response (RFC 7591 §3.2.1) the broker keeps.
package struct ClientRegistrationResponse: Sendable, Equatable, Decodable {
    package var clientID: String
    package var clientSecret: String?
    /// Seconds since the epoch; 0 or absent means the secret does not expire.
    package var clientSecretExpiresAt: Int?
    package var tokenEndpointAuthMethod: String?

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id"
        case clientSecret = "client_secret"
        case clientSecretExpiresAt = "client_secret_expires_at"
        case tokenEndpointAuthMethod = "token_endpoint_auth_method"
    }

    /// The credentials to use: the method the server assigned, else RFC 7591's default
    /// (`client_secret_basic`) when a secret was issued, else a public client.
    /// django-oauth-toolkit answers `client_secret_basic` even when asked for post.
    package var credentials: ClientCredentials {
        let secret = clientSecret.flatMap { $0.isEmpty ? nil : Secret($0) }
        // The broker holds no key for a registered client: private_key_jwt is not taken.
        let method = tokenEndpointAuthMethod.flatMap(ClientAuthenticationMethod.init(rawValue:)).flatMap { $0 == .privateKeyJWT ? nil : $0 }
            ?? (secret == nil ? .none : .clientSecretBasic)
        return ClientCredentials(clientID: clientID, clientSecret: secret, authenticationMethod: method)
    }
}
