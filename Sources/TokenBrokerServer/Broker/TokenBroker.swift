internal import Foundation
internal import Logging
internal import Synchronization
internal import TokenBrokerCore
internal import TokenBrokerStorage

/// What the hot path keeps per resource: enough to answer without the actor, the
/// database or the network.
struct CachedToken: Sendable {
    var accessToken: Secret
    var expiresAt: Date?
    var grantedScopes: ScopeSet
    var issuedAt: Date
    var issuer: String
    var resource: ResourceURI

    init?(_ grant: Grant?) {
        guard let grant, let token = grant.accessToken else { return nil }
        accessToken = token
        expiresAt = grant.accessTokenExpiresAt
        issuedAt = grant.updatedAt
        grantedScopes = grant.grantedScopes
        issuer = grant.issuer
        resource = grant.resource
    }

    func answers(_ needed: ScopeSet, minimumValidity: TimeInterval, at now: Date) -> Bool {
        guard grantedScopes.isSuperset(of: needed) else { return false }
        guard let expiresAt else { return true }
        return Grant.stillValid(expiresAt: expiresAt, issuedAt: issuedAt, minimumValidity: minimumValidity, at: now)
    }
}

/// A token handed to a client.
struct IssuedToken: Sendable {
    var accessToken: Secret
    var expiresAt: Date?
    var scopes: ScopeSet
    var resource: ResourceURI
    var issuer: String
    var origin = TokenOrigin.held
}

/// The broker: routes each request to the session of its resource server, answering
/// cache hits on the spot.
final class TokenBroker: Sendable {
    let services: BrokerServices

    private struct State {
        /// Client URL (canonical) → the resource its metadata declares.
        var aliases: [ResourceURI: ResourceURI] = [:]
        var sessions: [ResourceURI: ResourceSession] = [:]
        var discoveries: [ResourceURI: OneShot<Result<ResourceSession, BrokerFailure>>] = [:]
        var cache: [ResourceURI: CachedToken] = [:]
    }

    private let state = Mutex(State())

    init(services: BrokerServices) {
        self.services = services
    }

    /// Which resource and endpoint URLs are acceptable (https, or loopback http when allowed).
    var transportPolicy: TransportPolicy { services.http.policy }

    /// The hot path: a held token that covers `needed` and stays valid, from memory.
    /// `connection`, when given, records the answer (``ConnectionUses``).
    func cachedToken(
        for url: ResourceURI, needed: ScopeSet, minimumValidity: TimeInterval, connection: ConnectionUses? = nil
    ) -> IssuedToken? {
        let now = services.now()
        let hit: (CachedToken, ResourceSession?)? = state.withLock { state in
            let key = state.aliases[url] ?? url
            guard let cached = state.cache[key], cached.answers(needed, minimumValidity: minimumValidity, at: now) else {
                return nil
            }
            return (cached, state.sessions[key])
        }
        guard let (cached, session) = hit else { return nil }
        if connection?.noteAnswer(for: url, served: true) == true { session?.useConfirmed.store(true, ordering: .relaxed) }
        return IssuedToken(
            accessToken: cached.accessToken, expiresAt: cached.expiresAt, scopes: cached.grantedScopes,
            resource: cached.resource, issuer: cached.issuer)
    }

    /// Writes the grants that only memory holds because the database refused writes.
    func saveUnsavedGrants() async {
        let sessions = state.withLock { Array($0.sessions.values) }
        for session in sessions { await session.saveGrantIfUnsaved() }
    }

    /// A connection showed that a token for `url` was used successfully.
    func confirmUse(for url: ResourceURI) {
        let session = state.withLock { state in state.sessions[state.aliases[url] ?? url] }
        session?.useConfirmed.store(true, ordering: .relaxed)
    }

    /// Answers a token request that the cache could not.
    func token(for url: ResourceURI, ask: TokenAsk) async throws(BrokerFailure) -> IssuedToken {
        if !ask.request.reportsChallenge, !ask.request.explicitSignIn,
            let hit = cachedToken(for: url, needed: ask.request.neededScopes, minimumValidity: ask.request.minimumValidity),
            !ask.request.exactScopes || hit.scopes.hasSameMembers(as: ask.request.neededScopes)
        {
            return hit
        }
        let session = try await session(for: url, challengeMetadataURL: ask.challengeMetadataURL)
        let (grant, origin) = try await session.token(ask)
        guard let token = grant.accessToken else {
            throw .internalError("the broker planned to serve a grant without a token; this is a bug")
        }
        return IssuedToken(
            accessToken: token, expiresAt: grant.accessTokenExpiresAt, scopes: grant.grantedScopes,
            resource: grant.resource, issuer: grant.issuer, origin: origin)
    }

    /// The session for a client URL: known, restored from the database, or discovered
    /// (one discovery per URL at a time).
    func session(for url: ResourceURI, challengeMetadataURL: String?) async throws(BrokerFailure) -> ResourceSession {
        typealias Discovery = OneShot<Result<ResourceSession, BrokerFailure>>
        enum Next {
            case ready(ResourceSession)
            case join(Discovery)
            case start(Discovery)
        }
        let next: Next = state.withLock { state in
            if let key = state.aliases[url], let session = state.sessions[key] { return .ready(session) }
            if let session = state.sessions[url] { return .ready(session) }
            if let discovery = state.discoveries[url] { return .join(discovery) }
            let discovery = Discovery()
            state.discoveries[url] = discovery
            return .start(discovery)
        }
        let discovery: Discovery
        switch next {
        case .ready(let session):
            return session
        case .join(let running):
            discovery = running
        case .start(let started):
            discovery = started
            let spawned = services.flights.spawn {
                let result = await self.establishSession(for: url, challengeMetadataURL: challengeMetadataURL)
                // Only this discovery's own entry: a later one for the same URL stays.
                self.state.withLock { state in
                    if state.discoveries[url] === started { state.discoveries[url] = nil }
                }
                started.fulfill(result)
            }
            if !spawned {
                state.withLock { _ = $0.discoveries.removeValue(forKey: url) }
                started.fulfill(.failure(.stopping))
            }
        }
        guard let result = await discovery.value() else { throw .stopping }
        return try result.get()
    }

    private func establishSession(for url: ResourceURI, challengeMetadataURL: String?) async -> Result<ResourceSession, BrokerFailure> {
        do throws(BrokerFailure) {
            if challengeMetadataURL == nil, let restored = try await restoreSession(for: url) {
                return .success(restored)
            }
            let discovered = try await services.discovery.discover(resourceURL: url.url, challengeMetadataURL: challengeMetadataURL)
            let declared = discovered.protectedResource.resource
            let issuer = discovered.authorizationServer.issuer
            let stored = try await loadGrant(resource: declared, issuer: issuer)
            let session = install(discovered: discovered, grant: stored, alias: url)
            let (server, resource) = discovered.records(at: services.now())
            try await session.storage { try await services.store.recordDiscovery(server: server, resource: resource) }
            return .success(session)
        } catch {
            return .failure(error)
        }
    }

    /// After a restart: a grant stored for exactly this resource, with its metadata,
    /// needs no network to serve.
    private func restoreSession(for url: ResourceURI) async throws(BrokerFailure) -> ResourceSession? {
        do {
            guard let resource = try await services.store.resource(url), let issuer = resource.issuer,
                let server = try await services.store.authorizationServer(issuer: issuer)
            else { return nil }
            let prm = try JSONDecoder().decode(ProtectedResourceMetadata.self, from: Data(resource.metadataJSON.utf8))
            let asm = try JSONDecoder().decode(AuthorizationServerMetadata.self, from: Data(server.metadataJSON.utf8))
            let policy = services.http.policy
            let validatedResource = try MetadataValidation.validateProtectedResource(prm, serverURL: url.url, policy: policy)
            let validatedServer = try MetadataValidation.validateAuthorizationServer(asm, expectedIssuer: issuer, policy: policy)
            let discovered = DiscoveredResource(
                protectedResource: validatedResource, authorizationServer: validatedServer,
                protectedResourceJSON: Data(resource.metadataJSON.utf8), authorizationServerJSON: Data(server.metadataJSON.utf8))
            let grant = try await services.store.grant(resource: validatedResource.resource, issuer: issuer)
            return install(discovered: discovered, grant: grant, alias: url)
        } catch {
            // Stored metadata that no longer validates (policy changed, say) is rediscovered.
            services.logger.debug("not restoring from storage", metadata: ["resource": "\(url)"])
            return nil
        }
    }

    /// Takes up the sign-ins a previous run of the daemon kept on disk and that have
    /// time left, from storage alone (no network: it runs before the daemon is ready, so
    /// a callback arriving right after a restart finds its sign-in).
    func resumeSignIns() async {
        guard let kept = try? await services.store.keptSignIns(), !kept.isEmpty else { return }
        let cutoff = services.now().addingTimeInterval(-services.configuration.signInLifetime)
        for pending in kept {
            // A device code lives as long as the server said; a browser sign-in, the daemon's sign-in lifetime.
            let alive = pending.device.map { $0.expiresAt > services.now() } ?? (pending.startedAt > cutoff)
            let session = alive ? await storedSession(for: pending.resource) : nil
            guard let session else {
                _ = try? await services.store.takeSignIn(state: pending.state)
                continue
            }
            await session.resume(pending)
        }
    }

    /// The session for exactly `resource`, known or restored from storage; never discovered.
    private func storedSession(for resource: ResourceURI) async -> ResourceSession? {
        if let known = existingSession(for: resource) { return known }
        return try? await restoreSession(for: resource)
    }

    private func loadGrant(resource: ResourceURI, issuer: String) async throws(BrokerFailure) -> Grant? {
        do {
            return try await services.store.grant(resource: resource, issuer: issuer)
        } catch {
            throw .internalError("the broker's database failed: \(error)")
        }
    }

    private func install(discovered: DiscoveredResource, grant: Grant?, alias url: ResourceURI) -> ResourceSession {
        let declared = discovered.protectedResource.resource
        return state.withLock { state in
            state.aliases[url] = declared
            if let existing = state.sessions[declared] { return existing }
            let session = ResourceSession(discovered: discovered, grant: grant, services: services) { [weak self] grant in
                self?.publish(grant, for: declared)
            }
            state.sessions[declared] = session
            state.cache[declared] = CachedToken(grant)
            return session
        }
    }

    private func publish(_ grant: Grant?, for resource: ResourceURI) {
        state.withLock { $0.cache[resource] = CachedToken(grant) }
    }

    /// The session holding state for exactly `resource`, if any.
    func existingSession(for resource: ResourceURI) -> ResourceSession? {
        state.withLock { state in
            let key = state.aliases[resource] ?? resource
            return state.sessions[key]
        }
    }
}
