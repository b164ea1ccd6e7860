internal import Foundation
internal import Logging
internal import TokenBrokerCore
internal import TokenBrokerStorage

/// A client identity in use at an authorization server, with the redirect URI it was
/// registered with.
struct ActiveClient: Sendable {
    var credentials: ClientCredentials
    var redirectURI: String
}

extension ResourceSession {
    /// The client for this authorization server, registering when needed; for a device
    /// sign-in, one registered for the device grant.
    func clientCredentials(for scopes: ScopeSet, deviceFlow: Bool = false) async throws(BrokerFailure) -> ActiveClient {
        let server = discovered.authorizationServer
        let redirectURI = services.callbackURI()
        switch ClientIdentityChoice.choose(
            for: server, resource: resource, preregistered: services.configuration.preregisteredClients,
            metadataDocumentClientID: services.configuration.metadataDocumentClientID)
        {
        case .preregistered(let credentials):
            return ActiveClient(credentials: credentials, redirectURI: redirectURI)
        case .metadataDocument(let clientID):
            return ActiveClient(credentials: ClientCredentials(clientID: clientID), redirectURI: redirectURI)
        case .unavailable:
            throw .discovery("the authorization server \(server.issuer) offers no way to register a client; configure a pre-registered [[client]] for it")
        case .dynamicRegistration(let endpoint):
            let own = services.callbackOrigin() + LoopbackRedirect.path(forIssuer: server.issuer)
            return try await services.registrations.run(issuer: server.issuer, in: services.flights) {
                await self.storedOrNewRegistration(
                    at: endpoint, scopes: scopes, redirectURI: own, alsoAccepting: redirectURI, deviceFlow: deviceFlow)
            }
        }
    }

    /// The stored registration when it still fits, else a new one.
    /// A registration made before redirect paths were per issuer keeps its shared path
    /// (`alsoAccepting`): registering again would orphan every refresh token issued to it.
    func storedOrNewRegistration(
        at endpoint: HTTPURL, scopes: ScopeSet, redirectURI: String, alsoAccepting legacyRedirectURI: String? = nil,
        deviceFlow: Bool = false
    ) async -> Result<ActiveClient, BrokerFailure> {
        let server = discovered.authorizationServer
        do throws(BrokerFailure) {
            if let stored = try await storage({ try await services.store.clientRegistration(issuer: server.issuer) }),
                stored.redirectURI == redirectURI || stored.redirectURI == legacyRedirectURI, registrationCovers(stored, scopes),
                !deviceFlow || registrationAllowsDeviceFlow(stored),
                stored.clientSecretExpiresAt.map({ $0 > services.now() }) ?? true
            {
                return .success(ActiveClient(credentials: stored.credentials, redirectURI: stored.redirectURI))
            }
            // Register for every scope the server offers (an upper bound, not a request):
            // the MCP SDK's server refuses later sign-ins for scopes outside the
            // registration, and re-registering would end the client's MCP session.
            // OpenID Connect's identity scopes only when asked for: the broker is a
            // client of resources, not a login.
            let offered = server.scopesSupported.withoutOpenIDIdentityScopes
            return .success(try await register(at: endpoint, scopes: offered.union(scopes), redirectURI: redirectURI))
        } catch {
            return .failure(error)
        }
    }

    func register(at endpoint: HTTPURL, scopes: ScopeSet, redirectURI: String) async throws(BrokerFailure) -> ActiveClient {
        let server = discovered.authorizationServer
        // The device grant whenever the server offers it, so a later device sign-in does
        // not need a new client.
        let withDeviceGrant = server.deviceAuthorizationEndpoint != nil
        var answer = try await postRegistration(at: endpoint, scopes: scopes, redirectURI: redirectURI, deviceFlow: withDeviceGrant)
        if withDeviceGrant, answer.status == 400,
            OAuthErrorResponse.decode(answer.body)?.error == .invalidClientMetadata
        {
            // Some servers take one grant type per client (django-oauth-toolkit): the
            // browser sign-in must not fail for the sake of the optional device grant.
            services.logger.info("registering without the device grant, which the server refused", metadata: ["issuer": "\(server.issuer)"])
            answer = try await postRegistration(at: endpoint, scopes: scopes, redirectURI: redirectURI, deviceFlow: false)
        }
        guard answer.status == 200 || answer.status == 201 else {
            let error = OAuthErrorResponse.decode(answer.body)
            throw .authorizationFailed(
                "the authorization server \(server.issuer) refused to register the broker (\(error?.error.description ?? "HTTP \(answer.status)"))",
                oauthError: error?.error)
        }
        let response: ClientRegistrationResponse
        do {
            response = try JSONDecoder().decode(ClientRegistrationResponse.self, from: answer.body)
        } catch {
            throw .authorizationFailed("the authorization server's registration response has no client_id")
        }
        let credentials = response.credentials
        let now = services.now()
        let stored = StoredClientRegistration(
            issuer: server.issuer, clientID: credentials.clientID, clientSecret: credentials.clientSecret,
            tokenEndpointAuthMethod: credentials.authenticationMethod.rawValue, redirectURI: redirectURI, source: .dynamic,
            registrationResponse: Secret(String(decoding: answer.body, as: UTF8.self)),
            clientSecretExpiresAt: response.clientSecretExpiresAt.flatMap { $0 > 0 ? Date(timeIntervalSince1970: TimeInterval($0)) : nil },
            createdAt: now)
        try await storage { try await services.store.saveClientRegistration(stored) }
        services.logger.info("registered client", metadata: ["issuer": "\(server.issuer)"])
        return ActiveClient(credentials: credentials, redirectURI: redirectURI)
    }

    private func postRegistration(at endpoint: HTTPURL, scopes: ScopeSet, redirectURI: String, deviceFlow: Bool)
        async throws(BrokerFailure) -> HTTPAnswer
    {
        let request = ClientRegistrationRequest(
            redirectURI: redirectURI, clientName: services.configuration.clientName, scopes: scopes, deviceFlow: deviceFlow)
        let body: Data
        do {
            body = try JSONEncoder().encode(request)
        } catch {
            throw .internalError("could not encode the registration request")
        }
        return try await services.http.postJSON(endpoint, body: body, for: resource.url)
    }

    /// A registration that echoed its `grant_types` allows device sign-ins only when they
    /// include the device grant; one that echoed none is not restricted.
    func registrationAllowsDeviceFlow(_ registration: StoredClientRegistration) -> Bool {
        struct EchoedGrantTypes: Decodable { var grant_types: [String]? }
        guard let raw = registration.registrationResponse?.exposedValue,
            let types = try? JSONDecoder().decode(EchoedGrantTypes.self, from: Data(raw.utf8)).grant_types
        else { return true }
        return types.contains(DeviceAuthorization.grantType)
    }

    /// A registration that echoed a `scope` covers only those scopes (the MCP SDK's
    /// server enforces it); one without `scope` is not restricted.
    func registrationCovers(_ registration: StoredClientRegistration, _ scopes: ScopeSet) -> Bool {
        struct EchoedScope: Decodable { var scope: String? }
        guard let raw = registration.registrationResponse?.exposedValue,
            let text = try? JSONDecoder().decode(EchoedScope.self, from: Data(raw.utf8)).scope,
            let registered = try? ScopeSet(parsing: text)
        else { return true }
        return registered.isSuperset(of: scopes)
    }
}
