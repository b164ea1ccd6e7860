internal import Foundation
internal import Logging
internal import TokenBrokerCore
internal import TokenBrokerProtocol
internal import TokenBrokerStorage

// What the broker does with grants besides handing out tokens: list them, revoke them,
// and finish a sign-in from a pasted address. The socket layer only maps these to JSON-RPC.
extension TokenBroker {
    // MARK: - Listing

    /// A page of grants in resource order, with the sign-ins in progress; `next` is where
    /// the following page starts, `nil` after the last. First sign-ins that have no grant
    /// row yet come at the end of the last page.
    func grants(after cursor: GrantKey?, limit: Int, filter: GrantFilter, pendingOnly: Bool) async throws(BrokerFailure)
        -> (grants: [GrantSummary], next: GrantKey?)
    {
        let flights = services.registry.all.filter { flight in
            filter.resourcePrefix.map { flight.resource.string.hasPrefix($0) } ?? true
                && filter.issuer.map { flight.issuer == $0 } ?? true
        }
        let pendingByResource = Dictionary(flights.map { ($0.resource.string, $0) }, uniquingKeysWith: { first, _ in first })
        if pendingOnly {
            // Sign-ins in progress are few and in memory: one page.
            let summaries = flights.sorted { $0.resource < $1.resource }.map { flight in
                GrantSummary(flight: flight)
            }
            return (summaries, nil)
        }
        // One more than asked tells whether another page follows.
        let overviews = try await storage {
            try await services.store.grantOverviews(after: cursor, limit: limit + 1, filter: filter)
        }
        let page = overviews.prefix(limit)
        var summaries = page.map { overview in
            GrantSummary(overview: overview, preregistered: services.configuration.preregisteredClients,
                         flight: pendingByResource[overview.resource.string])
        }
        guard overviews.count <= limit else { return (summaries, page.last?.key) }
        // The last page: first sign-ins in progress have no grant row yet; show them too.
        for flight in flights.sorted(by: { $0.resource < $1.resource }) {
            // Resources sort before their extensions, so a grant for exactly this one comes first.
            let first = try await storage {
                try await services.store.grantOverviews(after: nil, limit: 1, filter: GrantFilter(resourcePrefix: flight.resource.string))
            }
            if first.first?.resource != flight.resource { summaries.append(GrantSummary(flight: flight)) }
        }
        return (summaries, nil)
    }

    // MARK: - Revocation

    /// Remote revocations in flight at once.
    static let concurrentRevocations = 8

    /// Revokes `resource`'s grants (every grant that covers it: `/api` for `/api/files`),
    /// or all grants when `nil`. Local tokens go first, all in one transaction; then RFC
    /// 7009 at each authorization server, several at once.
    func revoke(resource: ResourceURI?) async throws(BrokerFailure) -> [(Grant, RemoteRevocation)] {
        let all = try await storage { try await services.store.allGrants() }
        let targets = resource.map { url in all.filter { $0.resource.covers(url) } } ?? all
        let keys = targets.map { GrantKey(resource: $0.resource.string, issuer: $0.issuer) }
        // Who to revoke as, read before the local revocation forgets retired clients; each
        // issuer's metadata once, however many grants it holds.
        var servers: [String: ValidatedAuthorizationServer?] = [:]
        var revocations: [RemoteRevocationOrder] = []
        for grant in targets {
            if servers[grant.issuer] == nil { servers[grant.issuer] = .some(await storedAuthorizationServer(issuer: grant.issuer)) }
            revocations.append(await remoteRevocationOrder(for: grant, at: servers[grant.issuer] ?? nil))
        }
        _ = try await storage { try await services.store.revokeGrants(keys, at: services.now()) }
        for grant in targets { await existingSession(for: grant.resource)?.revoked() }
        // A few at a time: thousands of grants must not become thousands of connections.
        return await withTaskGroup(of: (Int, RemoteRevocation).self) { group in
            var outcomes = [RemoteRevocation](repeating: .failed, count: targets.count)
            var pending = revocations.enumerated().makeIterator()
            for _ in 0..<Self.concurrentRevocations {
                guard let (index, order) = pending.next() else { break }
                group.addTask { (index, await self.revokeRemotely(order)) }
            }
            for await (index, outcome) in group {
                outcomes[index] = outcome
                if let (next, order) = pending.next() { group.addTask { (next, await self.revokeRemotely(order)) } }
            }
            return Array(zip(targets, outcomes))
        }
    }

    /// What revoking one grant remotely takes, or its outcome when nothing can be sent.
    private enum RemoteRevocationOrder: Sendable {
        case send(Grant, endpoint: HTTPURL, client: ClientCredentials)
        case settled(RemoteRevocation)
    }

    private func remoteRevocationOrder(for grant: Grant, at server: ValidatedAuthorizationServer?) async -> RemoteRevocationOrder {
        guard grant.refreshToken != nil || grant.accessToken != nil else { return .settled(.revoked) }
        guard let server, let endpoint = server.revocationEndpoint else { return .settled(.unsupported) }
        // Only as the client the tokens were issued to (RFC 7009 §2.1).
        guard let client = try? await services.client(issuedTo: grant.clientID, for: grant.resource, at: server) else { return .settled(.failed) }
        return .send(grant, endpoint: endpoint, client: client)
    }

    /// RFC 7009 at the server's revocation endpoint: the refresh token (which ends the
    /// grant at most servers), then the access token.
    private func revokeRemotely(_ order: RemoteRevocationOrder) async -> RemoteRevocation {
        let (grant, endpoint, client): (Grant, HTTPURL, ClientCredentials)
        switch order {
        case .settled(let outcome): return outcome
        case .send(let toRevoke, let revocationEndpoint, let revokingClient): (grant, endpoint, client) = (toRevoke, revocationEndpoint, revokingClient)
        }
        let tokens = [(grant.refreshToken, "refresh_token"), (grant.accessToken, "access_token")].compactMap { token, hint in
            token.map { ($0, hint) }
        }
        for (token, hint) in tokens {
            let post = OAuthRequests.revocation(
                revocationEndpoint: endpoint, token: token, hint: hint, client: client, now: services.now())
            guard let answer = try? await services.http.post(post, for: grant.resource.url), answer.status == 200 else { return .failed }
        }
        return .revoked
    }

    /// The stored metadata of `issuer`, validated as discovery validates it.
    private func storedAuthorizationServer(issuer: String) async -> ValidatedAuthorizationServer? {
        guard let stored = try? await services.store.authorizationServer(issuer: issuer),
            let metadata = try? JSONDecoder().decode(AuthorizationServerMetadata.self, from: Data(stored.metadataJSON.utf8))
        else { return nil }
        return try? MetadataValidation.validateAuthorizationServer(metadata, expectedIssuer: issuer, policy: services.http.policy)
    }

    // MARK: - A pasted redirect

    /// Finishes a waiting sign-in with the address its browser was sent back to, pasted
    /// by hand; returns once the code exchange is done. Messages never repeat the address:
    /// it holds the code.
    func completeSignIn(pastedAddress address: String) async throws(BrokerFailure) -> Grant {
        let pasted = address.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = pasted.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let query = parts.count == 2 ? String(parts[1].prefix { $0 != "#" }) : ""
        guard let state = FormURLEncoding.decode(query).first(where: { $0.0 == "state" })?.1 else {
            throw BrokerFailure(
                reason: .invalidParams,
                message: "That is not a sign-in response: paste the whole address the browser ended on, with its `state` and `code`.")
        }
        // Only this daemon's own redirect URI: an address meant for another program's
        // sign-in must not be taken for ours.
        guard let flight = services.registry.flight(state: state), String(parts[0]) == flight.redirectURI else {
            throw .authorizationFailed(
                "No sign-in in progress matches that address. Was all of it pasted? Otherwise the sign-in expired, was finished already, or belongs to another program.")
        }
        // A paste can be cut short (a wrapped line, a terminal's line limit): what is not
        // acceptable is refused without ending the sign-in, so the person can paste again.
        switch flight.deliver(query) {
        case .delivered:
            break
        case .notAccepted(let problem):
            throw .authorizationFailed(
                "That address was not accepted (\(problem)); paste all of it, from http:// to the end. The sign-in still waits.")
        case .alreadyAnswered:
            throw .authorizationFailed("That sign-in already received its response; it is not used twice.")
        }
        guard let outcome = await flight.outcome.value() else {
            throw .authorizationFailed("The sign-in ended before the address arrived; start it again.")
        }
        return try outcome.get()
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

extension BrokerServices {
    /// The client the broker is known as at `server`, without registering: the rule a
    /// sign-in uses (``ClientIdentityChoice``), else the stored registration. A refresh
    /// authenticates as this client, the one its token was issued to (RFC 6749 §6), and
    /// never registers: the loopback port is no part of a client's identity (RFC 8252
    /// §7.3), and wider scopes are no reason either. `nil` when that client is gone.
    func knownClient(for resource: ResourceURI, at server: ValidatedAuthorizationServer) async throws(StorageError)
        -> ClientCredentials?
    {
        switch ClientIdentityChoice.choose(
            for: server, resource: resource, preregistered: configuration.preregisteredClients,
            metadataDocumentClientID: configuration.metadataDocumentClientID)
        {
        case .preregistered(let credentials): credentials
        case .metadataDocument(let clientID): ClientCredentials(clientID: clientID)
        case .dynamicRegistration, .unavailable: try await store.clientRegistration(issuer: server.issuer)?.credentials
        }
    }

    /// The client a grant's tokens were issued to, which its refresh and revocation
    /// authenticate as (RFC 6749 §6): the one in use when it matches, else its retired
    /// registration. `nil` when that client is gone, or no longer configured: its tokens
    /// are then never sent as another client. A grant that does not name its client
    /// (stored before grants did) uses ``knownClient(for:at:)``.
    func client(issuedTo clientID: String?, for resource: ResourceURI, at server: ValidatedAuthorizationServer)
        async throws(StorageError) -> ClientCredentials?
    {
        let current = try await knownClient(for: resource, at: server)
        guard let clientID, current?.clientID != clientID else { return current }
        return try await store.clientRegistration(issuer: server.issuer, clientID: clientID)?.credentials
    }
}

extension GrantSummary {
    init(overview: GrantOverview, preregistered: [PreregisteredClient], flight: SignInFlight?) {
        let clientID = overview.clientID ?? preregistered.first {
            MetadataValidation.issuersMatch(declared: $0.issuer, expected: overview.issuer)
        }?.credentials.clientID
        self.init(
            resource: overview.resource.string, issuer: overview.issuer, clientID: clientID,
            requestedScopes: overview.requestedScopes.strings, grantedScopes: overview.grantedScopes.strings,
            hasAccessToken: overview.hasAccessToken, accessTokenExpiresAt: overview.accessTokenExpiresAt,
            hasRefreshToken: overview.hasRefreshToken, updatedAt: overview.updatedAt,
            pendingAuthorization: flight.map(PendingAuthorization.init(flight:)))
    }

    /// A sign-in in progress, shown as the grant it is becoming.
    init(flight: SignInFlight) {
        self.init(
            resource: flight.resource.string, issuer: flight.issuer, clientID: flight.client.clientID,
            requestedScopes: [], grantedScopes: [], hasAccessToken: false, accessTokenExpiresAt: nil,
            hasRefreshToken: false, updatedAt: flight.startedAt,
            pendingAuthorization: PendingAuthorization(flight: flight))
    }
}

extension PendingAuthorization {
    init(flight: SignInFlight) {
        self.init(
            authorizationURL: flight.authorizationURL, scopes: flight.scopes.strings, startedAt: flight.startedAt,
            device: flight.device?.shown)
    }
}
