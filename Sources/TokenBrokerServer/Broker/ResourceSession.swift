internal import Foundation
internal import Logging
internal import Synchronization
internal import TokenBrokerCore
internal import TokenBrokerStorage

/// What a request asks of a resource session.
struct TokenAsk: Sendable {
    var planning: TokenRequest
    var challengeMetadataURL: String?
    var interactive: Bool
    var waitSeconds: Double
    /// Sends `authorization/pending` to the asking connection.
    var notifyPending: @Sendable (SignInNotice) async -> Void
}

/// `authorization/pending`'s content.
struct SignInNotice: Sendable {
    var resource: ResourceURI
    var authorizationURL: String
    var scopes: ScopeSet
}

extension StoredClientRegistration {
    /// How the broker authenticates as this registered client.
    var credentials: ClientCredentials {
        ClientCredentials(
            clientID: clientID, clientSecret: clientSecret,
            authenticationMethod: ClientAuthenticationMethod(rawValue: tokenEndpointAuthMethod) ?? .none)
    }
}

/// Shared services of all sessions.
struct BrokerServices: Sendable {
    let store: BrokerStore
    let http: OAuthHTTPClient
    let discovery: Discovery
    let configuration: BrokerConfiguration
    let registry: SignInRegistry
    let callbackURI: @Sendable () -> String
    let now: @Sendable () -> Date
    let logger: Logger
    /// Dynamic registrations in progress, one per authorization server at a time.
    var registrations = RegistrationFlights()
}

/// One dynamic registration per authorization server at a time, across resources.
///
/// Two clients asking at once for resources of the same server (or for the same one)
/// must end up with one client: a second registration replaces the first in the store,
/// so tokens and MCP sessions begun under the first no longer match the client the
/// next step-up uses (the MCP SDK binds a session to its client and answers 404).
actor RegistrationFlights {
    private var flights: [String: Task<Result<ResourceSession.ActiveClient, BrokerFailure>, Never>] = [:]

    /// The result of the flight for `issuer` in progress, else of `work`, run once.
    func run(
        issuer: String, _ work: @escaping @Sendable () async -> Result<ResourceSession.ActiveClient, BrokerFailure>
    ) async throws(BrokerFailure) -> ResourceSession.ActiveClient {
        if let flight = flights[issuer] { return try await flight.value.get() }
        let flight = Task { await work() }
        flights[issuer] = flight
        let result = await flight.value
        flights[issuer] = nil
        return try result.get()
    }
}

/// Everything the broker does for one resource server, serialised: discovery state,
/// the grant, single-flight refresh and sign-in.
///
/// An actor, so state changes are ordered; every network wait is an `await`, during
/// which other requests for this resource may enter and join the flight in progress.
/// Cache hits never come here (see ``TokenBroker``).
actor ResourceSession {
    let resource: ResourceURI
    private var discovered: DiscoveredResource
    private var grant: Grant?
    private var ledger = StepUpLedger()
    private var refreshFlight: Task<Result<Void, BrokerFailure>, Never>?
    private var signIn: SignInFlight?
    private let services: BrokerServices
    private let publish: @Sendable (Grant?) -> Void
    /// Cache hits since the last request that reached this actor; they count as
    /// challenge-free requests for the step-up ledger.
    let cacheHits = Atomic<Int>(0)

    init(discovered: DiscoveredResource, grant: Grant?, services: BrokerServices, publish: @escaping @Sendable (Grant?) -> Void) {
        self.resource = discovered.protectedResource.resource
        self.discovered = discovered
        self.grant = grant
        self.services = services
        self.publish = publish
    }

    /// Answers a token request: serve, refresh, sign in, or fail.
    func token(_ ask: TokenAsk) async throws(BrokerFailure) -> (Grant, TokenOrigin) {
        var ask = ask
        // For the audit log: what it took to answer this request.
        var origin = TokenOrigin.held
        for _ in 0..<cacheHits.exchange(0, ordering: .relaxed) {
            ledger.noteRequest(TokenRequest())
        }
        ledger.noteRequest(ask.planning)
        // A challenge without a named token is about the token held when it arrived;
        // when none was held, about none of ours (an empty token matches no real one),
        // so the token a sign-in now produces is not condemned by the same challenge.
        if ask.planning.reportsChallenge, ask.planning.rejectedToken == nil {
            ask.planning.rejectedToken = grant?.accessToken ?? Secret("")
        }
        if ask.planning.status == 401, grant?.accessToken != nil,
            ask.planning.rejectedToken == grant?.accessToken
        {
            try await followAuthorizationServerMigration(ask)
        }

        var retriedRegistration = false
        for _ in 0..<8 {
            if let flight = refreshFlight {
                _ = await flight.value
                origin = .refreshed
                // The token is as fresh as the server makes it: a lifetime shorter than
                // minValidSeconds must not make every waiter refresh again.
                ask.planning.minimumValidity = 0
                continue
            }
            if let flight = signIn {
                if let answer = try await answer(from: flight, ask) { return (answer, .signIn) }
                continue
            }
            let action = GrantPlanner.plan(
                ask.planning, grant: grant, sources: discovered.scopeSources, ledger: &ledger, now: services.now())
            services.logger.trace("planned", metadata: ["resource": "\(resource)", "action": "\(action)"])
            switch action {
            case .serve:
                return (grant!, origin)
            case .refresh:
                try await refresh()
                origin = .refreshed
                ask.planning.minimumValidity = 0
            case .authorize(let scopes):
                let flight = try await startSignIn(scopes: scopes)
                do {
                    if let answer = try await answer(from: flight, ask) { return (answer, .signIn) }
                } catch where !retriedRegistration && ["invalid_scope", "invalid_client"].contains(error.oauthError) {
                    // The registration was too narrow or is gone (it was deleted when the
                    // server said so): register again and sign in once more.
                    retriedRegistration = true
                }
            case .fail(let failure):
                throw .scopeUnattainable(failure)
            }
        }
        throw .internalError("the broker could not settle on a token for \(resource); this is a bug")
    }

    /// Forgets the tokens and the scope history (revocation), as `grants/revoke` does in
    /// the database: the next sign-in asks only for what is needed again.
    func dropTokens() {
        grant?.accessToken = nil
        grant?.accessTokenExpiresAt = nil
        grant?.refreshToken = nil
        grant?.requestedScopes = []
        grant?.grantedScopes = []
        ledger.reset()
        publish(grant)
    }

    // MARK: - Refresh

    /// One refresh at a time; concurrent callers wait for it.
    private func refresh() async throws(BrokerFailure) {
        if let flight = refreshFlight {
            _ = await flight.value
            return
        }
        let flight = Task {
            let result = await self.performRefresh()
            // Cleared before any waiter resumes, so none of them sees a finished flight.
            self.refreshFlight = nil
            return result
        }
        refreshFlight = flight
        try await flight.value.get()
    }

    private func performRefresh() async -> Result<Void, BrokerFailure> {
        guard let current = grant, let refreshToken = current.refreshToken else { return .success(()) }
        do {
            let client = try await clientCredentials(for: current.requestedScopes)
            let post = OAuthRequests.refresh(
                tokenEndpoint: discovered.authorizationServer.tokenEndpoint, refreshToken: refreshToken,
                resource: resource, client: client.credentials)
            let answer = try await services.http.post(post)
            if answer.status == 200 {
                let response = try decodeTokenResponse(answer)
                let next = current.applying(response, round: .refresh, now: services.now())
                let rotation = TokenRotation(
                    accessToken: next.accessToken!, accessTokenExpiresAt: next.accessTokenExpiresAt,
                    refreshToken: next.refreshToken, grantedScopes: next.grantedScopes, rotatedAt: next.updatedAt)
                // The rotated refresh token is durable before the new access token is used.
                let swapped = try await storage {
                    try await services.store.replaceTokens(
                        resource: resource, issuer: current.issuer, expectedRefreshToken: refreshToken, with: rotation)
                }
                if swapped {
                    setGrant(next)
                } else {
                    setGrant(try await storage { try await services.store.grant(resource: resource, issuer: current.issuer) })
                }
                services.logger.info("refreshed", metadata: ["resource": "\(resource)"])
                return .success(())
            }
            let error = OAuthErrorResponse.decode(answer.body)
            if error?.error == "invalid_grant" || error?.error == "invalid_client" || answer.status == 401 {
                // Someone may have rotated the token meanwhile: trust the stored grant first.
                let stored = try await storage { try await services.store.grant(resource: resource, issuer: current.issuer) }
                if let stored, stored.refreshToken != refreshToken {
                    setGrant(stored)
                    return .success(())
                }
                services.logger.info(
                    "refresh token refused; a sign-in is needed",
                    metadata: ["resource": "\(resource)", "error": "\(error?.error.prefix(64) ?? "HTTP \(answer.status)")"])
                if error?.error == "invalid_client" {
                    _ = try await storage { try await services.store.deleteClientRegistration(issuer: current.issuer) }
                }
                _ = try await storage { try await services.store.deleteTokens(resource: resource, at: services.now()) }
                var cleared = current
                cleared.accessToken = nil
                cleared.accessTokenExpiresAt = nil
                cleared.refreshToken = nil
                setGrant(cleared)
                return .success(())
            }
            return .failure(.authorizationFailed(
                "the authorization server refused the refresh (\(error?.error.prefix(64) ?? "HTTP \(answer.status)"))",
                oauthError: error?.error))
        } catch {
            return .failure(error)
        }
    }

    // MARK: - Sign-in

    private func startSignIn(scopes: ScopeSet) async throws(BrokerFailure) -> SignInFlight {
        if let flight = signIn { return flight }
        let server = discovered.authorizationServer
        let client = try await clientCredentials(for: scopes)
        if let flight = signIn { return flight }  // another request started one while we registered

        let state = AuthorizationState.generate()
        let pkce = PKCE.generate()
        let request = AuthorizationRequest(
            authorizationEndpoint: server.authorizationEndpoint, clientID: client.credentials.clientID,
            redirectURI: client.redirectURI, scopes: scopes, resource: resource, state: state, pkce: pkce)
        let flight = SignInFlight(
            resource: resource, issuer: server.issuer, issParameterSupported: server.issParameterSupported,
            state: state, pkce: pkce, redirectURI: client.redirectURI, client: client.credentials,
            tokenEndpoint: server.tokenEndpoint, scopes: scopes, authorizationURL: request.url, startedAt: services.now())
        signIn = flight
        services.registry.add(flight)
        services.logger.info("sign-in started", metadata: ["resource": "\(resource)", "scopes": "\(scopes.spaceDelimited)"])
        Task { await self.complete(flight) }
        return flight
    }

    /// Waits for the callback, then exchanges the code. Runs once per flight.
    private func complete(_ flight: SignInFlight) async {
        let result: Result<Grant, BrokerFailure>
        if let query = await wait(for: flight.callback, atMost: services.configuration.signInLifetime) {
            result = await exchange(flight, query: query)
        } else {
            result = .failure(.authorizationFailed("the sign-in was not completed in time"))
        }
        services.registry.remove(flight)
        if signIn === flight { signIn = nil }
        if case .failure(let failure) = result {
            services.logger.info("sign-in failed", metadata: ["resource": "\(resource)", "reason": "\(failure)"])
        }
        flight.outcome.fulfill(result)
    }

    private func exchange(_ flight: SignInFlight, query: String) async -> Result<Grant, BrokerFailure> {
        do {
            let code: Secret
            do {
                code = try AuthorizationResponse.validate(
                    query: query, expectedState: flight.state, expectedIssuer: flight.issuer,
                    issParameterSupported: flight.issParameterSupported)
            } catch {
                if error.oauthError == "invalid_scope" || error.oauthError == "invalid_client" {
                    // The registration is too narrow or stale (the MCP SDK's server checks
                    // registered scopes): register again next time.
                    _ = try? await services.store.deleteClientRegistration(issuer: flight.issuer)
                }
                throw BrokerFailure.authorizationFailed(error.description, oauthError: error.oauthError)
            }
            let post = OAuthRequests.authorizationCodeExchange(
                tokenEndpoint: flight.tokenEndpoint, code: code, redirectURI: flight.redirectURI,
                verifier: flight.pkce.verifier, resource: resource, client: flight.client)
            let answer = try await services.http.post(post)
            guard answer.status == 200 else {
                let error = OAuthErrorResponse.decode(answer.body)
                if error?.error == "invalid_client" {
                    _ = try? await services.store.deleteClientRegistration(issuer: flight.issuer)
                }
                throw BrokerFailure.authorizationFailed(
                    "the authorization server refused the code exchange (\(error?.error.prefix(64) ?? "HTTP \(answer.status)"))",
                    oauthError: error?.error)
            }
            let response = try decodeTokenResponse(answer)
            let now = services.now()
            let base = (grant?.issuer == flight.issuer ? grant : nil)
                ?? Grant(resource: resource, issuer: flight.issuer, createdAt: now, updatedAt: now)
            let next = base.applying(response, round: .authorizationCode(requested: flight.scopes), now: now)
            try await storage { try await services.store.saveGrant(next) }
            setGrant(next)
            services.logger.info("signed in", metadata: ["resource": "\(resource)", "granted": "\(next.grantedScopes.spaceDelimited)"])
            return .success(next)
        } catch let failure as BrokerFailure {
            return .failure(failure)
        } catch {
            return .failure(.internalError("unexpected error during sign-in"))
        }
    }

    /// Joins `flight` and returns its grant when the sign-in asked for everything this
    /// request needs: the server's answer is then final, even when it granted fewer
    /// scopes (RFC 6749 §5.1). Planning again would refuse the narrowed grant as
    /// `scope_unattainable`, although a person just signed in for this very request.
    private func answer(from flight: SignInFlight, _ ask: TokenAsk) async throws(BrokerFailure) -> Grant? {
        let signedIn = try await join(flight, ask)
        var needed = ask.planning.neededScopes
        if ask.planning.reportsChallenge { needed.formUnion(ask.planning.challenge?.scope ?? []) }
        return flight.scopes.isSuperset(of: needed) ? signedIn : nil
    }

    /// Tells the asker about the sign-in and waits for it, up to the asker's patience.
    private func join(_ flight: SignInFlight, _ ask: TokenAsk) async throws(BrokerFailure) -> Grant {
        guard ask.interactive else {
            throw .authorizationRequired(
                "signing in to \(resource) needs a person: open the sign-in URL, or ask again with interactive true",
                url: flight.authorizationURL)
        }
        // The first interactive request opens the browser, also for a sign-in that a
        // non-interactive request prepared earlier.
        if flight.claimBrowser() {
            let opened = await services.configuration.browser.open(flight.authorizationURL)
            services.logger.debug("browser", metadata: ["opened": "\(opened)"])
        }
        await ask.notifyPending(SignInNotice(resource: resource, authorizationURL: flight.authorizationURL, scopes: flight.scopes))
        guard let result = await wait(for: flight.outcome, atMost: ask.waitSeconds) else {
            throw .authorizationFailed("nobody finished signing in to \(resource) within \(Int(ask.waitSeconds)) seconds")
        }
        return try result.get()
    }

    // MARK: - Client identity

    struct ActiveClient: Sendable {
        var credentials: ClientCredentials
        var redirectURI: String
    }

    /// The client for this authorization server, registering when needed.
    private func clientCredentials(for scopes: ScopeSet) async throws(BrokerFailure) -> ActiveClient {
        let server = discovered.authorizationServer
        let redirectURI = services.callbackURI()
        switch ClientIdentityChoice.choose(
            for: server, preregistered: services.configuration.preregisteredClients,
            metadataDocumentClientID: services.configuration.metadataDocumentClientID)
        {
        case .preregistered(let credentials):
            return ActiveClient(credentials: credentials, redirectURI: redirectURI)
        case .metadataDocument(let clientID):
            return ActiveClient(credentials: ClientCredentials(clientID: clientID), redirectURI: redirectURI)
        case .unavailable:
            throw .discovery("the authorization server \(server.issuer) offers no way to register a client; configure a pre-registered [[client]] for it")
        case .dynamicRegistration(let endpoint):
            return try await services.registrations.run(issuer: server.issuer) {
                await self.storedOrNewRegistration(at: endpoint, scopes: scopes, redirectURI: redirectURI)
            }
        }
    }

    /// The stored registration when it still fits, else a new one.
    private func storedOrNewRegistration(at endpoint: HTTPURL, scopes: ScopeSet, redirectURI: String) async -> Result<
        ActiveClient, BrokerFailure
    > {
        let server = discovered.authorizationServer
        do throws(BrokerFailure) {
            if let stored = try await storage({ try await services.store.clientRegistration(issuer: server.issuer) }),
                stored.redirectURI == redirectURI, registrationCovers(stored, scopes),
                stored.clientSecretExpiresAt.map({ $0 > services.now() }) ?? true
            {
                return .success(ActiveClient(credentials: stored.credentials, redirectURI: redirectURI))
            }
            // Register for every scope the server offers (an upper bound, not a request):
            // the MCP SDK's server refuses later sign-ins for scopes outside the
            // registration, and re-registering would end the client's MCP session.
            return .success(
                try await register(at: endpoint, scopes: server.scopesSupported.union(scopes), redirectURI: redirectURI))
        } catch {
            return .failure(error)
        }
    }

    private func register(at endpoint: HTTPURL, scopes: ScopeSet, redirectURI: String) async throws(BrokerFailure) -> ActiveClient {
        let server = discovered.authorizationServer
        let request = ClientRegistrationRequest(redirectURI: redirectURI, clientName: services.configuration.clientName, scopes: scopes)
        let body: Data
        do {
            body = try JSONEncoder().encode(request)
        } catch {
            throw .internalError("could not encode the registration request")
        }
        let answer = try await services.http.postJSON(endpoint, body: body)
        guard answer.status == 200 || answer.status == 201 else {
            let error = OAuthErrorResponse.decode(answer.body)
            throw .authorizationFailed(
                "the authorization server \(server.issuer) refused to register the broker (\(error?.error.prefix(64) ?? "HTTP \(answer.status)"))",
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

    /// A registration that echoed a `scope` covers only those scopes (the MCP SDK's
    /// server enforces it); one without `scope` is not restricted.
    private func registrationCovers(_ registration: StoredClientRegistration, _ scopes: ScopeSet) -> Bool {
        guard let raw = registration.registrationResponse?.exposedValue.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: raw) as? [String: Any],
            let text = object["scope"] as? String, let registered = try? ScopeSet(parsing: text)
        else { return true }
        return registered.isSuperset(of: scopes)
    }

    // MARK: - Authorization server migration

    /// On a 401 for the current token, re-read the protected resource metadata: when it
    /// now names another authorization server, nothing of the old one is sent there
    /// (SEP-2352); the grant starts over at the new server.
    private func followAuthorizationServerMigration(_ ask: TokenAsk) async throws(BrokerFailure) {
        let fresh: DiscoveredResource
        do {
            fresh = try await services.discovery.discover(
                resourceURL: resource.url, challengeMetadataURL: ask.challengeMetadataURL)
        } catch {
            services.logger.info("could not re-read metadata after a 401; keeping what is known", metadata: ["reason": "\(error)"])
            return
        }
        guard fresh.protectedResource.resource == resource else { return }
        let oldIssuer = discovered.authorizationServer.issuer
        guard fresh.authorizationServer.issuer != oldIssuer else {
            discovered = fresh
            return
        }
        services.logger.info("authorization server changed", metadata: ["resource": "\(resource)", "issuer": "\(fresh.authorizationServer.issuer)"])
        try await persist(fresh)
        discovered = fresh
        let requested = grant?.requestedScopes ?? []
        if let old = grant {
            _ = try await storage { try await services.store.deleteTokens(resource: old.resource, at: services.now()) }
        }
        let now = services.now()
        grant = try await storage { try await services.store.grant(resource: resource, issuer: fresh.authorizationServer.issuer) }
            ?? Grant(resource: resource, issuer: fresh.authorizationServer.issuer, requestedScopes: requested, createdAt: now, updatedAt: now)
        ledger.reset()
        publish(grant)
    }

    /// Stores discovery results (metadata first: the schema's foreign keys need it).
    func persist(_ discovered: DiscoveredResource) async throws(BrokerFailure) {
        let now = services.now()
        let server = discovered.authorizationServer
        try await storage {
            try await services.store.saveAuthorizationServer(StoredAuthorizationServer(
                issuer: server.issuer, metadataJSON: String(decoding: discovered.authorizationServerJSON, as: UTF8.self), fetchedAt: now))
            try await services.store.saveResource(StoredResource(
                resource: discovered.protectedResource.resource,
                metadataJSON: String(decoding: discovered.protectedResourceJSON, as: UTF8.self), issuer: server.issuer, fetchedAt: now))
        }
    }

    // MARK: - Helpers

    private func setGrant(_ next: Grant?) {
        grant = next
        publish(next)
    }

    private func decodeTokenResponse(_ answer: HTTPAnswer) throws(BrokerFailure) -> TokenResponse {
        do {
            return try TokenResponse.decode(answer.body)
        } catch {
            throw .authorizationFailed("\(error)")
        }
    }

    private func storage<T>(_ work: () async throws -> T) async throws(BrokerFailure) -> T {
        do {
            return try await work()
        } catch {
            services.logger.error("storage failed", metadata: ["error": "\(error)"])
            throw .internalError("the broker's database failed: \(error)")
        }
    }
}
