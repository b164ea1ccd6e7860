internal import Foundation
internal import Logging
internal import Synchronization
internal import TokenBrokerCore
internal import TokenBrokerProtocol
internal import TokenBrokerStorage

/// What a request asks of a resource session.
struct TokenAsk: Sendable {
    var request: TokenRequest
    var challengeMetadataURL: String?
    var interactive: Bool
    var waitSeconds: Double
    /// How a sign-in this request starts is to be made; `nil`: the daemon chooses.
    var method: SignInMethod? = nil
    /// Sends `authorization/pending` to the asking connection.
    var notifyPending: @Sendable (SignInNotice) async -> Void
}

/// `authorization/pending`'s content.
struct SignInNotice: Sendable {
    var resource: ResourceURI
    var authorizationURL: String
    var scopes: ScopeSet
    var device: DeviceSignInPrompt?
}

extension StoredClientRegistration {
    /// How the broker authenticates as this registered client.
    var credentials: ClientCredentials {
        ClientCredentials(
            clientID: clientID, clientSecret: clientSecret,
            authenticationMethod: ClientAuthenticationMethod(rawValue: tokenEndpointAuthMethod) ?? .none)
    }
}

/// Everything the broker does for one resource server, serialised: it performs what the
/// resource's ``ResourceStateMachine`` decides (HTTP, SQLite, the browser) and reports
/// each result back to it.
///
/// An actor, so events reach the machine in order; every network wait is an `await`,
/// during which other requests for this resource may enter and are told to join the
/// flight in progress. Cache hits never come here (see ``TokenBroker``).
///
/// Long (about 700 lines) because every flow it performs (refresh, browser and pasted
/// sign-in, device sign-in, client credentials, revocation) reads and writes the actor's
/// own state: split into files, those would need that state package-visible.
actor ResourceSession {
    let resource: ResourceURI
    private(set) var discovered: DiscoveredResource
    private var machine: ResourceStateMachine
    /// The refresh in flight, for the requests the machine tells to wait for it.
    private var refreshFlight: OneShot<Result<Void, BrokerFailure>>?
    /// The sign-in in flight: registering its client, then waiting for a person.
    private var signInFlight: OneShot<Result<SignInFlight, BrokerFailure>>?
    let services: BrokerServices
    private let publish: @Sendable (Grant?) -> Void
    /// A connection showed a successful use since the last request reached this actor
    /// (``ConnectionUseRecord``); set from the event loops without waiting for the actor.
    let useConfirmed = Atomic<Bool>(false)
    /// The grant in memory is newer than the database's: storing it failed because the
    /// database cannot be written (disk full, read-only). Losing a rotated refresh token
    /// would end the grant, so it is served from memory and written at the next chance.
    private var grantUnsaved = false

    init(discovered: DiscoveredResource, grant: Grant?, services: BrokerServices, publish: @escaping @Sendable (Grant?) -> Void) {
        self.resource = discovered.protectedResource.resource
        self.discovered = discovered
        var machine = ResourceStateMachine(resource: resource, grant: grant, sources: discovered.scopeSources)
        machine.usesClientCredentials =
            Self.clientCredentialsClient(for: resource, at: discovered.authorizationServer, in: services.configuration) != nil
        self.machine = machine
        self.services = services
        self.publish = publish
    }

    /// The `[[client]]` that gets `resource`'s tokens with client credentials, if the
    /// operator configured one for it at `server`.
    private static func clientCredentialsClient(
        for resource: ResourceURI, at server: ValidatedAuthorizationServer, in configuration: BrokerConfiguration
    ) -> ClientCredentials? {
        guard let client = configuration.preregisteredClients.client(for: resource, at: server.issuer),
            client.grantType == .clientCredentials
        else { return nil }
        return client.credentials
    }

    private func configuredClientCredentialsClient(at server: ValidatedAuthorizationServer) -> ClientCredentials? {
        Self.clientCredentialsClient(for: resource, at: server, in: services.configuration)
    }

    /// The grant as the machine holds it.
    var grant: Grant? { machine.grant }

    /// Answers a token request: serve, refresh, sign in, or fail.
    func token(_ ask: TokenAsk) async throws(BrokerFailure) -> (Grant, TokenOrigin) {
        if grantUnsaved { await saveUnsavedGrant() }
        var (attempt, checkAuthorizationServer) = machine.begin(
            ask.request, confirmedUse: useConfirmed.exchange(false, ordering: .relaxed))
        if checkAuthorizationServer { try await followAuthorizationServerMigration(ask) }
        while true {
            let step = machine.next(&attempt, now: services.now())
            services.logger.trace("step", metadata: ["resource": "\(resource)", "step": "\(step.name)"])
            switch step {
            case .serve(let grant):
                return (grant, attempt.origin)
            case .awaitRefresh:
                guard await refreshFlight?.value() != nil else { throw .stopping }
            case .refresh(let order):
                try await refresh(order)
            case .requestClientCredentials(let scopes):
                try await requestClientCredentials(scopes)
            case .startSignIn(let scopes):
                let starting = OneShot<Result<SignInFlight, BrokerFailure>>()
                signInFlight = starting
                let method = ask.method
                guard services.flights.spawn({ starting.fulfill(await self.beginSignIn(scopes: scopes, requested: method)) }) else {
                    machine.signInEnded(storing: nil)
                    signInFlight = nil
                    throw .stopping
                }
                if let grant = try await joinSignIn(&attempt, ask) { return (grant, attempt.origin) }
            case .joinSignIn:
                if let grant = try await joinSignIn(&attempt, ask) { return (grant, attempt.origin) }
            case .fail(let failure):
                throw BrokerFailure(failure)
            }
        }
    }

    /// Forgets the tokens and the scope history, after the store did (revocation).
    func revoked() {
        grantUnsaved = false
        machine.revoked()
        publish(machine.grant)
    }

    // MARK: - Refresh

    /// Performs the refresh the machine ordered; requests arriving meanwhile wait for it.
    private func refresh(_ order: RefreshOrder) async throws(BrokerFailure) {
        // The whole refresh goes to the server that issued the token, even if discovery
        // learns of another one meanwhile.
        let server = discovered.authorizationServer
        try await renew(onceStopping: { $0.machine.refreshAbandoned() }) { session in
            await session.performRefresh(order, at: server)
        }
    }

    /// Runs a renewal (a refresh, a client credentials request) as the flight the
    /// machine's other requests wait for; `onceStopping` reports to the machine when the
    /// daemon stops before it starts.
    private func renew(
        onceStopping: (isolated ResourceSession) -> Void,
        _ work: @escaping @Sendable (isolated ResourceSession) async -> Result<Void, BrokerFailure>
    ) async throws(BrokerFailure) {
        let done = OneShot<Result<Void, BrokerFailure>>()
        refreshFlight = done
        guard services.flights.spawn({ await self.finishRenewal(await work(self), reportingTo: done) }) else {
            onceStopping(self)
            refreshFlight = nil
            throw .stopping
        }
        guard let result = await done.value() else { throw .stopping }
        try result.get()
    }

    private func finishRenewal(_ result: Result<Void, BrokerFailure>, reportingTo done: OneShot<Result<Void, BrokerFailure>>) {
        // Cleared before any waiter resumes, so none of them sees a finished flight.
        if refreshFlight === done { refreshFlight = nil }
        publish(machine.grant)
        done.fulfill(result)
    }

    /// Every path reports an ending to the machine: an answer's event, or `refreshAbandoned`.
    private func performRefresh(_ order: RefreshOrder, at server: ValidatedAuthorizationServer) async -> Result<Void, BrokerFailure> {
        do throws(BrokerFailure) {
            guard server.issuer == order.issuer else {
                throw .internalError("the refresh token belongs to \(order.issuer), not to \(server.issuer); this is a bug")
            }
            let answer: TokenEndpointAnswer
            let client = try await storage { try await services.client(issuedTo: order.clientID, for: resource, at: server) }
            if let client {
                let post = OAuthRequests.refresh(
                    tokenEndpoint: server.tokenEndpoint, refreshToken: order.refreshToken, resource: resource, client: client,
                    now: services.now(), scopes: order.narrowing)
                answer = try classifyRenewal(try await services.http.post(post, for: resource.url))
            } else {
                // The client the token was issued to is gone (dropped after the server
                // refused it, or no longer configured): what the server would answer,
                // without sending the token to be checked by another client.
                answer = .refused(status: 401, error: .invalidClient)
            }
            switch machine.refreshAnswered(answer, now: services.now()) {
            case .storeRotation(let next, let sent, let thenFail):
                let rotation = TokenRotation(
                    accessToken: next.accessToken, accessTokenExpiresAt: next.accessTokenExpiresAt,
                    refreshToken: next.refreshToken, grantedScopes: next.grantedScopes, rotatedAt: next.updatedAt)
                // The rotated refresh token is durable before the new access token is used.
                let swapped = try await storeRotation(rotation, of: next, replacing: sent, at: order.issuer)
                let stored = swapped ? nil : try await storage {
                    try await services.store.grant(resource: resource, issuer: order.issuer)
                }
                machine.rotationStored(next, swapped: swapped, stored: stored)
                services.logger.info("refreshed", metadata: ["resource": "\(resource)"])
                if let thenFail { throw BrokerFailure(thenFail) }
            case .done:
                services.logger.info("refreshed for a narrower token", metadata: ["resource": "\(resource)"])
            case .readStoredGrant(let dropRegistration):
                // A grant only memory holds is newer than the database's.
                let stored = grantUnsaved
                    ? machine.grant : try await storage { try await services.store.grant(resource: resource, issuer: order.issuer) }
                if machine.storedGrantRead(stored) == .forgetTokens {
                    services.logger.info("refresh token refused; a sign-in is needed", metadata: ["resource": "\(resource)"])
                    try await storage {
                        try await services.store.forgetRefusedTokens(
                            resource: resource, issuer: order.issuer, unknownClient: dropRegistration ? client?.clientID : nil,
                            at: services.now())
                    }
                    machine.tokensForgotten()
                }
            case .fail(let failure):
                throw BrokerFailure(failure)
            }
            return .success(())
        } catch {
            machine.refreshAbandoned()
            return .failure(error)
        }
    }

    // MARK: - Client credentials

    /// Asks for a token as the configured client (RFC 6749 §4.4); requests arriving
    /// meanwhile wait for it, as for a refresh.
    private func requestClientCredentials(_ scopes: ScopeSet) async throws(BrokerFailure) {
        let server = discovered.authorizationServer
        try await renew(onceStopping: { $0.machine.clientCredentialsEnded(storing: nil) }) { session in
            await session.performClientCredentials(scopes, at: server)
        }
    }

    /// Every path reports an ending to the machine with `clientCredentialsEnded`.
    private func performClientCredentials(_ scopes: ScopeSet, at server: ValidatedAuthorizationServer) async -> Result<Void, BrokerFailure> {
        do throws(BrokerFailure) {
            guard let client = configuredClientCredentialsClient(at: server) else {
                throw .internalError("no client credentials client is configured for \(resource) at \(server.issuer); this is a bug")
            }
            let post = OAuthRequests.clientCredentials(
                tokenEndpoint: server.tokenEndpoint, scopes: scopes, resource: resource, client: client, now: services.now())
            // A 5xx stays upstream_unavailable: unlike a code, the request can be repeated.
            let answer = try classifyRenewal(try await services.http.post(post, for: resource.url))
            switch machine.clientCredentialsAnswered(
                answer, issuer: server.issuer, clientID: client.clientID, scopes: scopes, now: services.now())
            {
            case .storeGrant(let next):
                try await keep(next)
                machine.clientCredentialsEnded(storing: next)
                services.logger.info(
                    "token by client credentials", metadata: ["resource": "\(resource)", "granted": "\(next.grantedScopes.spaceDelimited)"])
            case .fail(let refusal):
                throw BrokerFailure(.refused(refusal))
            case .narrowed(let failure):
                if let failure { throw BrokerFailure(failure) }
                machine.clientCredentialsEnded(storing: nil)
            }
            return .success(())
        } catch {
            machine.clientCredentialsEnded(storing: nil)
            return .failure(error)
        }
    }

    // MARK: - Sign-in

    /// Registers a client when needed and prepares the sign-in; runs once per sign-in.
    private func beginSignIn(scopes: ScopeSet, requested: SignInMethod?) async -> Result<SignInFlight, BrokerFailure> {
        let server = discovered.authorizationServer
        // A server without the authorization-code flow (client credentials only, or no
        // PKCE S256) may still offer device sign-ins, which need no browser.
        let method = SignInMethod.choose(
            requested: requested,
            browserAvailable: services.configuration.browser.isAvailable && server.authorizationCodeRefusal == nil,
            deviceFlowOffered: server.deviceAuthorizationEndpoint != nil)
        let client: ActiveClient
        let device: DeviceSignInPrompt?
        do throws(BrokerFailure) {
            if method == .browser, let refusal = server.authorizationCodeRefusal {
                throw .discovery("no sign-in is possible: \(refusal)")
            }
            client = try await clientCredentials(for: scopes, deviceFlow: method == .device)
            device = method == .device ? try await startDeviceAuthorization(scopes: scopes, client: client.credentials) : nil
        } catch {
            machine.signInEnded(storing: nil)
            signInFlight = nil
            return .failure(error)
        }
        if requested == .device, method != .device {
            services.logger.info("the authorization server offers no device sign-in; using the browser", metadata: ["resource": "\(resource)"])
        }
        let state = AuthorizationState.generate()
        let pkce = PKCE.generate()
        // Only a browser sign-in has an authorization request; a device sign-in shows its own URL.
        let request = server.authorizationEndpoint.map { endpoint in
            AuthorizationRequest(
                authorizationEndpoint: endpoint, clientID: client.credentials.clientID,
                redirectURI: client.redirectURI, scopes: scopes, resource: resource, state: state, pkce: pkce)
        }
        let flight = SignInFlight(
            resource: resource, issuer: server.issuer, issParameterSupported: server.issParameterSupported,
            state: state, pkce: pkce, redirectURI: client.redirectURI, client: client.credentials,
            tokenEndpoint: server.tokenEndpoint, scopes: scopes,
            authorizationURL: device.map { $0.shown.verificationURIComplete ?? $0.shown.verificationURI } ?? request?.url ?? "",
            startedAt: services.now(), device: device)
        services.registry.add(flight)
        services.logger.info(
            "sign-in started",
            metadata: ["resource": "\(resource)", "scopes": "\(scopes.spaceDelimited)", "method": "\(method.rawValue)"])
        await persist(flight)
        if device == nil {
            services.flights.spawn { await self.complete(flight) }
        } else {
            services.flights.spawn { await self.completeDevice(flight) }
        }
        return .success(flight)
    }

    /// RFC 8628 §3.1–3.2: asks for a device code and a user code.
    private func startDeviceAuthorization(scopes: ScopeSet, client: ClientCredentials) async throws(BrokerFailure) -> DeviceSignInPrompt {
        let server = discovered.authorizationServer
        guard let endpoint = server.deviceAuthorizationEndpoint else {
            throw .internalError("a device sign-in was chosen without a device authorization endpoint; this is a bug")
        }
        let post = OAuthRequests.deviceAuthorization(
            endpoint: endpoint, scopes: scopes, resource: resource, client: client, now: services.now())
        let answer = try await services.http.post(post, for: resource.url)
        guard answer.status == 200 else {
            let error = OAuthErrorResponse.decode(answer.body)
            throw .authorizationFailed(
                "the authorization server \(server.issuer) refused to start a device sign-in (\(error?.error.description ?? "HTTP \(answer.status)"))",
                oauthError: error?.error)
        }
        let response: DeviceAuthorizationResponse
        do {
            response = try DeviceAuthorizationResponse.decode(answer.body, policy: services.http.policy)
        } catch {
            throw .authorizationFailed(error.description)
        }
        let now = services.now()
        return DeviceSignInPrompt(
            deviceCode: response.deviceCode, polling: DevicePolling(response, start: now),
            shown: DeviceSignIn(
                userCode: response.userCode, verificationURI: response.verificationURI,
                verificationURIComplete: response.verificationURIComplete,
                expiresAt: now.addingTimeInterval(TimeInterval(response.expiresIn))))
    }

    /// Polls the token endpoint until the person approves, declines or the code expires
    /// (RFC 8628 §3.4–3.5). One poller per sign-in, however many requests wait for it.
    private func completeDevice(_ flight: SignInFlight) async {
        guard let device = flight.device else { return }
        var polling = device.polling
        var next = polling.firstWait(now: services.now())
        let result: Result<Grant, BrokerFailure>
        poll: while true {
            switch next {
            case .poll(let seconds):
                await services.sleep(Double(seconds))
                if Task.isCancelled {
                    result = .failure(.stopping)
                    break poll
                }
                let post = OAuthRequests.deviceCodePoll(
                    tokenEndpoint: flight.tokenEndpoint, deviceCode: device.deviceCode, resource: resource, client: flight.client,
                    now: services.now())
                do throws(BrokerFailure) {
                    let answer = try classify(try await services.http.post(post, for: resource.url))
                    next = polling.answered(answer, now: services.now())
                } catch where error.reason == .upstreamUnavailable {
                    // Unreachable or a 5xx: the code is still good; ask again later.
                    next = polling.firstWait(now: services.now())
                } catch {
                    result = .failure(error)
                    break poll
                }
            case .issued(let response):
                result = await storeSignIn(.issued(response), of: flight)
                break poll
            case .failed(let failure):
                let oauthError: OAuthErrorCode? =
                    switch failure {
                    case .denied: .accessDenied
                    case .expired: .expiredToken
                    case .refused(let error): error
                    }
                result = .failure(.authorizationFailed(failure.description, oauthError: oauthError))
                break poll
            }
        }
        // Kept on disk only while it can still end well: a stopping daemon's next run polls on.
        if case .failure(let failure) = result, failure.message == BrokerFailure.stopping.message {
            services.registry.remove(flight)
            flight.outcome.fulfill(result)
            return
        }
        _ = try? await services.store.takeSignIn(state: flight.state.value)
        endSignIn(flight, with: result)
    }

    /// Keeps the sign-in on disk, so a daemon restarted before the person finishes still
    /// takes the callback or the paste, or polls for the device code. Without it the
    /// sign-in still works until a restart.
    private func persist(_ flight: SignInFlight) async {
        let pending = StoredSignIn(
            state: flight.state.value, resource: resource, issuer: flight.issuer, codeVerifier: flight.pkce.verifier,
            redirectURI: flight.redirectURI, requestedScopes: flight.scopes, authorizationURL: flight.authorizationURL,
            startedAt: flight.startedAt, clientID: flight.client.clientID,
            device: flight.device.map { device in
                StoredDeviceCode(
                    deviceCode: device.deviceCode, userCode: device.shown.userCode, verificationURI: device.shown.verificationURI,
                    verificationURIComplete: device.shown.verificationURIComplete, expiresAt: device.polling.expiresAt,
                    interval: device.polling.interval)
            })
        do {
            try await services.store.keepSignIn(pending)
        } catch {
            services.logger.warning("sign-in not kept for a restart", metadata: ["resource": "\(resource)", "error": "\(error)"])
        }
    }

    /// Takes up a sign-in a previous run of the daemon started and kept on disk: it waits
    /// for its callback or paste for the rest of its lifetime. The browser is not opened
    /// again; a client that asks is told the same URL.
    func resume(_ pending: StoredSignIn) async {
        let server = discovered.authorizationServer
        guard pending.issuer == server.issuer, let verifier = try? PKCE(verifier: pending.codeVerifier),
            let client = try? await services.knownClient(for: resource, at: server), client.clientID == pending.clientID,
            machine.signInResumed(scopes: pending.requestedScopes)
        else {
            services.logger.info("not resuming a sign-in from before the restart", metadata: ["resource": "\(resource)"])
            _ = try? await services.store.takeSignIn(state: pending.state)
            return
        }
        let device = pending.device.map { stored in
            DeviceSignInPrompt(
                deviceCode: stored.deviceCode, polling: DevicePolling(interval: stored.interval, expiresAt: stored.expiresAt),
                shown: DeviceSignIn(
                    userCode: stored.userCode, verificationURI: stored.verificationURI,
                    verificationURIComplete: stored.verificationURIComplete, expiresAt: stored.expiresAt))
        }
        let flight = SignInFlight(
            resource: resource, issuer: server.issuer, issParameterSupported: server.issParameterSupported,
            state: AuthorizationState(value: pending.state), pkce: verifier, redirectURI: pending.redirectURI, client: client,
            tokenEndpoint: server.tokenEndpoint, scopes: pending.requestedScopes, authorizationURL: pending.authorizationURL,
            startedAt: pending.startedAt, device: device)
        _ = flight.claimBrowser()
        let started = OneShot<Result<SignInFlight, BrokerFailure>>()
        started.fulfill(.success(flight))
        signInFlight = started
        services.registry.add(flight)
        publish(machine.grant)
        services.logger.info("sign-in resumed", metadata: ["resource": "\(resource)"])
        if device == nil {
            services.flights.spawn { await self.complete(flight) }
        } else {
            services.flights.spawn { await self.completeDevice(flight) }
        }
    }

    /// Waits for the callback, then exchanges the code. Runs once per flight.
    private func complete(_ flight: SignInFlight) async {
        let result: Result<Grant, BrokerFailure>
        let lifetimeLeft = services.configuration.signInLifetime - services.now().timeIntervalSince(flight.startedAt)
        let query = await wait(for: flight.callback, atMost: max(0, lifetimeLeft), sleep: services.sleep)
        if query == nil, Task.isCancelled {
            // The daemon is stopping: the kept sign-in stays on disk for the next run.
            services.registry.remove(flight)
            flight.outcome.fulfill(.failure(.stopping))
            return
        }
        // The code is used at most once, whatever happens next: the kept sign-in goes first.
        _ = try? await services.store.takeSignIn(state: flight.state.value)
        if let query {
            result = await exchange(flight, query: query)
        } else {
            result = .failure(.authorizationFailed("the sign-in was not completed in time"))
        }
        endSignIn(flight, with: result)
    }

    private func exchange(_ flight: SignInFlight, query: String) async -> Result<Grant, BrokerFailure> {
        let code: Secret
        do {
            code = try AuthorizationResponse.validate(
                query: query, expectedState: flight.state, expectedIssuer: flight.issuer,
                issParameterSupported: flight.issParameterSupported)
        } catch {
            // Only retired: the redirect proves nothing, and grants issued to this client
            // must stay refreshable.
            if machine.callbackRefused(error) {
                try? await services.store.retireClientRegistration(
                    issuer: flight.issuer, clientID: flight.client.clientID, at: services.now())
            }
            return .failure(.authorizationFailed(error.description, oauthError: error.oauthError))
        }
        do throws(BrokerFailure) {
            let post = OAuthRequests.authorizationCodeExchange(
                tokenEndpoint: flight.tokenEndpoint, code: code, redirectURI: flight.redirectURI,
                verifier: flight.pkce.verifier, resource: resource, client: flight.client, now: services.now())
            let answer = try classify(try await services.http.post(post, for: resource.url, serverErrorIsAnswer: true))
            return await storeSignIn(answer, of: flight)
        } catch {
            return .failure(error)
        }
    }

    /// The token endpoint answered a sign-in (a code exchange or a device poll) with
    /// tokens or a refusal: the grant is stored, or a client the server no longer knows
    /// is forgotten.
    private func storeSignIn(_ answer: TokenEndpointAnswer, of flight: SignInFlight) async -> Result<Grant, BrokerFailure> {
        switch machine.codeExchangeAnswered(
            answer, issuer: flight.issuer, clientID: flight.client.clientID, scopes: flight.scopes, now: services.now())
        {
        case .storeGrant(let next):
            do throws(BrokerFailure) {
                try await keep(next)
            } catch {
                return .failure(error)
            }
            services.logger.info("signed in", metadata: ["resource": "\(resource)", "granted": "\(next.grantedScopes.spaceDelimited)"])
            return .success(next)
        case .fail(let refusal, let dropRegistration):
            if dropRegistration {
                try? await services.store.deleteClientRegistration(issuer: flight.issuer, clientID: flight.client.clientID)
            }
            return .failure(BrokerFailure(.refused(refusal)))
        }
    }

    /// The sign-in is over: every request waiting for it learns how.
    private func endSignIn(_ flight: SignInFlight, with result: Result<Grant, BrokerFailure>) {
        services.registry.remove(flight)
        machine.signInEnded(storing: try? result.get())
        signInFlight = nil
        publish(machine.grant)
        if case .failure(let failure) = result {
            services.logger.info("sign-in failed", metadata: ["resource": "\(resource)", "reason": "\(failure)"])
        }
        flight.outcome.fulfill(result)
    }

    /// Joins the sign-in in flight; `nil` when the machine is to be asked again.
    private func joinSignIn(_ attempt: inout TokenAttempt, _ ask: TokenAsk) async throws(BrokerFailure) -> Grant? {
        guard let starting = signInFlight else { return nil }
        guard let started = await starting.value() else { throw .stopping }
        let flight = try started.get()
        let result = try await join(flight, ask)
        let outcome: SignInOutcome =
            switch result {
            case .success(let grant): .signedIn(grant)
            case .failure(let failure): .failed(failure.oauthError)
            }
        switch machine.signInJoined(&attempt, outcome: outcome, scopes: flight.scopes) {
        case .serve(let grant): return grant
        case .planAgain: return nil
        case .giveUp: return try result.get()
        }
    }

    /// Tells the asker about the sign-in and waits for it, up to the asker's patience.
    private func join(_ flight: SignInFlight, _ ask: TokenAsk) async throws(BrokerFailure) -> Result<Grant, BrokerFailure> {
        guard ask.interactive else {
            throw .authorizationRequired(
                "signing in to \(resource) needs a person: open the sign-in URL, or ask again with interactive true",
                url: flight.authorizationURL)
        }
        // The first interactive request opens the browser, also for a sign-in that a
        // non-interactive request prepared earlier. A device sign-in is for another device.
        if flight.device == nil, flight.claimBrowser() {
            let opened = await services.configuration.browser.open(flight.authorizationURL)
            services.logger.debug("browser", metadata: ["opened": "\(opened)"])
        }
        await ask.notifyPending(
            SignInNotice(resource: resource, authorizationURL: flight.authorizationURL, scopes: flight.scopes, device: flight.device))
        guard let result = await wait(for: flight.outcome, atMost: ask.waitSeconds) else {
            throw .authorizationFailed("nobody finished signing in to \(resource) within \(Int(ask.waitSeconds)) seconds")
        }
        return result
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
        let issuer = fresh.authorizationServer.issuer
        guard issuer != discovered.authorizationServer.issuer else {
            adopt(fresh)
            return
        }
        services.logger.info("authorization server changed", metadata: ["resource": "\(resource)", "issuer": "\(issuer)"])
        let (server, record) = fresh.records(at: services.now())
        let stored = try await storage { try await services.store.moveResource(to: server, resource: record, at: services.now()) }
        adopt(fresh)
        machine.authorizationServerChanged(to: issuer, stored: stored, now: services.now())
        publish(machine.grant)
    }

    private func adopt(_ fresh: DiscoveredResource) {
        discovered = fresh
        machine.sources = fresh.scopeSources
        machine.usesClientCredentials = configuredClientCredentialsClient(at: fresh.authorizationServer) != nil
    }

    // MARK: - A database that cannot be written

    /// Stores a rotation: compare-and-swap on the refresh token sent, or, while the grant
    /// is unsaved (the database holds an older token), the whole grant. Returns whether
    /// `next` is the grant now.
    private func storeRotation(_ rotation: TokenRotation, of next: Grant, replacing sent: Secret, at issuer: String)
        async throws(BrokerFailure) -> Bool
    {
        if grantUnsaved {
            try await keep(next)
            return true
        }
        do {
            return try await services.store.replaceTokens(
                resource: resource, issuer: issuer, expectedRefreshToken: sent, with: rotation)
        } catch where error.code == .unwritable {
            keptInMemory(error)
            return true
        } catch {
            services.logger.error("storage failed", metadata: ["error": "\(error)"])
            throw .internalError("the broker's database failed: \(error)")
        }
    }

    /// Stores a grant whole; when the database cannot be written, keeps it in memory.
    private func keep(_ grant: Grant) async throws(BrokerFailure) {
        do {
            try await services.store.saveGrant(grant)
            grantUnsaved = false
        } catch where error.code == .unwritable {
            keptInMemory(error)
        } catch {
            services.logger.error("storage failed", metadata: ["error": "\(error)"])
            throw .internalError("the broker's database failed: \(error)")
        }
    }

    private func keptInMemory(_ error: StorageError) {
        grantUnsaved = true
        services.logger.error(
            "the grant is kept in memory until the database can be written",
            metadata: ["resource": "\(resource)", "error": "\(error)"])
    }

    /// Writes the grant only memory holds, if any (the daemon stopping).
    func saveGrantIfUnsaved() async {
        if grantUnsaved { await saveUnsavedGrant() }
    }

    /// Writes the grant only memory holds, once the database takes writes again.
    private func saveUnsavedGrant() async {
        guard let grant = machine.grant, (try? await services.store.saveGrant(grant)) != nil else { return }
        grantUnsaved = false
        services.logger.info("the grant kept in memory is written", metadata: ["resource": "\(resource)"])
    }

    // MARK: - Helpers

    private func classify(_ answer: HTTPAnswer) throws(BrokerFailure) -> TokenEndpointAnswer {
        do {
            return try TokenEndpointAnswer(status: answer.status, body: answer.body)
        } catch {
            throw .authorizationFailed("\(error)")
        }
    }

    /// A refresh or client credentials answer. A redirect, or a 200 that is no token
    /// response, is a server misbehaving rather than refusing, and a later try may work:
    /// `upstream_unavailable`, with the stored grant kept.
    private func classifyRenewal(_ answer: HTTPAnswer) throws(BrokerFailure) -> TokenEndpointAnswer {
        if (300..<400).contains(answer.status) {
            throw .upstream(
                "the token endpoint answered with a redirect (HTTP \(answer.status)), which OAuth does not allow; "
                    + "the stored grant is kept; try again later")
        }
        do {
            return try TokenEndpointAnswer(status: answer.status, body: answer.body)
        } catch .unsupportedTokenType(let type) {
            // No retry changes the token type.
            throw .authorizationFailed(TokenResponseError.unsupportedTokenType(type).description)
        } catch {
            throw .upstream("\(error); the stored grant is kept; try again later")
        }
    }

    func storage<T>(_ work: () async throws -> T) async throws(BrokerFailure) -> T {
        do {
            return try await work()
        } catch {
            services.logger.error("storage failed", metadata: ["error": "\(error)"])
            throw .internalError("the broker's database failed: \(error)")
        }
    }
}

extension DiscoveredResource {
    /// The rows that record this discovery.
    func records(at now: Date) -> (StoredAuthorizationServer, StoredResource) {
        let server = authorizationServer
        return (
            StoredAuthorizationServer(
                issuer: server.issuer, metadataJSON: String(decoding: authorizationServerJSON, as: UTF8.self), fetchedAt: now),
            StoredResource(
                resource: protectedResource.resource,
                metadataJSON: String(decoding: protectedResourceJSON, as: UTF8.self), issuer: server.issuer, fetchedAt: now)
        )
    }
}

extension TokenStep {
    /// The step's name, for trace logs (never a token).
    var name: String {
        switch self {
        case .serve: "serve"
        case .awaitRefresh: "await refresh"
        case .refresh: "refresh"
        case .requestClientCredentials: "client credentials"
        case .startSignIn: "start sign-in"
        case .joinSignIn: "join sign-in"
        case .fail: "fail"
        }
    }
}
