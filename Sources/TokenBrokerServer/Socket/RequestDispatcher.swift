internal import Foundation
internal import Logging
internal import TokenBrokerCore
internal import TokenBrokerProtocol
internal import TokenBrokerStorage

/// Who is on the other end of a connection (SO_PEERCRED), for the audit log.
struct PeerIdentity: Sendable {
    var uid: UInt32
    var pid: Int32
    var executable: String?
}

/// Turns JSON-RPC requests into broker calls and broker outcomes into responses.
struct RequestDispatcher: Sendable {
    let broker: TokenBroker
    let info: BrokerInfo
    let audit: AuditRecorder

    var services: BrokerServices { broker.services }

    /// Answers one request. Never throws: every failure becomes an error response.
    func respond(
        to request: JSONRPCRequest, peer: PeerIdentity, notify: @escaping @Sendable (JSONRPCNotification) async -> Void
    ) async -> JSONRPCResponse {
        do {
            switch request.method {
            case .tokenGet:
                let params = try TokenGetParams(params: request.params)
                return JSONRPCResponse(id: request.id, result: try await tokenGet(params, peer: peer, notify: notify))
            case .grantsList:
                return JSONRPCResponse(id: request.id, result: try await grantsList())
            case .grantsRevoke:
                let params = try GrantsRevokeParams(params: request.params)
                return JSONRPCResponse(id: request.id, result: try await revoke(params, peer: peer))
            case .brokerInfo:
                return JSONRPCResponse(id: request.id, result: info)
            case .auditList:
                let params = request.params == nil ? AuditListParams() : try AuditListParams(params: request.params)
                return JSONRPCResponse(id: request.id, result: try await auditList(params))
            case .authorizationComplete:
                let params = try AuthorizationCompleteParams(params: request.params)
                return JSONRPCResponse(id: request.id, result: try await completeAuthorization(params, peer: peer))
            default:
                return JSONRPCResponse(id: request.id, error: .methodNotFound(request.method))
            }
        } catch let error as RPCError {
            return JSONRPCResponse(id: request.id, error: error)
        } catch let failure as BrokerFailure {
            return JSONRPCResponse(id: request.id, error: failure.rpcError)
        } catch {
            services.logger.error("unexpected error", metadata: ["method": "\(request.method)", "error": "\(type(of: error))"])
            return JSONRPCResponse(id: request.id, error: .internalError)
        }
    }

    /// The answer to `request` when it needs no waiting: a token held in memory that
    /// covers the request, or `broker/info`. `nil` sends the request to ``respond(to:peer:notify:)``,
    /// which also explains invalid params. Runs on the connection's event loop: it takes
    /// two short locks and touches no actor, database or network.
    func immediateResponse(to request: JSONRPCRequest, peer: PeerIdentity) -> JSONRPCResponse? {
        switch request.method {
        case .brokerInfo:
            return JSONRPCResponse(id: request.id, result: info)
        case .tokenGet:
            guard let params = try? TokenGetParams(params: request.params), params.challenge == nil, params.status == nil,
                let (url, needed, application) = try? validated(params),
                let hit = broker.cachedToken(for: url, needed: needed, minimumValidity: TimeInterval(params.minValidSeconds))
            else { return nil }
            audit.record(peer: peer, application: application, method: .tokenGet, resource: url.string, scopes: hit.scopes, outcome: .served)
            return JSONRPCResponse(id: request.id, result: result(hit))
        default:
            return nil
        }
    }

    // MARK: token/get

    /// The resource, the scopes and the application name of a `token/get`, checked.
    private func validated(_ params: TokenGetParams) throws(RPCError) -> (ResourceURI, ScopeSet, String?) {
        let url: ResourceURI
        do {
            url = try ResourceURI(params.resource, policy: services.http.policy)
        } catch {
            throw .invalidParams(message: "\(error)")
        }
        let needed: ScopeSet
        do {
            needed = try ScopeSet(validating: params.scopes)
        } catch {
            throw .invalidParams(message: "scopes: \(error)")
        }
        if let status = params.status, status != 401, status != 403 {
            throw .invalidParams(message: "status must be 401 or 403, the statuses that carry a challenge")
        }
        return (url, needed, params.application.map { String($0.prefix(200)) })
    }

    private func tokenGet(
        _ params: TokenGetParams, peer: PeerIdentity, notify: @escaping @Sendable (JSONRPCNotification) async -> Void
    ) async throws -> TokenGetResult {
        // The event loop found no held token that answers this (see immediateResponse);
        // `broker.token` looks once more, for one a refresh in between may have brought.
        let (url, needed, application) = try validated(params)
        var challenge: BearerChallenge?
        if let value = params.challenge {
            do {
                challenge = try WWWAuthenticate.bearerChallenge(in: value) ?? BearerChallenge()
            } catch {
                throw RPCError.invalidParams(message: "challenge: \(error)")
            }
        }
        let ask = TokenAsk(
            planning: TokenRequest(
                neededScopes: needed, challenge: challenge, status: params.status ?? (challenge == nil ? nil : 401),
                rejectedToken: params.rejectedToken.map { Secret($0.exposedValue) },
                minimumValidity: TimeInterval(params.minValidSeconds)),
            challengeMetadataURL: challenge?.resourceMetadata,
            interactive: params.interactive,
            // Any integer is a valid wait; past a year it is the same wait, and stays a
            // number every later conversion (Duration, Int for messages) can hold.
            waitSeconds: min(Double(params.waitSeconds), longestWait),
            notifyPending: { notice in
                await notify(.authorizationPending(AuthorizationPendingParams(
                    resource: notice.resource.string, authorizationURL: notice.authorizationURL, scopes: notice.scopes.strings)))
            })
        do {
            let token = try await broker.token(for: url, ask: ask)
            let outcome: AuditOutcome =
                switch token.origin {
                case .held: .served
                case .refreshed: .refreshed
                case .signIn: .authorized
                }
            audit.record(peer: peer, application: application, method: .tokenGet, resource: url.string, scopes: token.scopes, outcome: outcome)
            return result(token)
        } catch {
            audit.record(
                peer: peer, application: application, method: .tokenGet, resource: url.string, scopes: needed,
                outcome: .denied(error.rpcError.reason.rawValue))
            throw error
        }
    }

    private func result(_ token: IssuedToken) -> TokenGetResult {
        TokenGetResult(
            accessToken: AccessToken(token.accessToken.exposedValue), expiresAt: token.expiresAt,
            scopes: token.scopes.strings, resource: token.resource.string, issuer: token.issuer)
    }

    // MARK: authorization/complete

    /// Finishes a waiting sign-in with the address its browser was sent back to, pasted
    /// by hand; answers once the code exchange is done. Messages never repeat the address:
    /// it holds the code.
    private func completeAuthorization(
        _ params: AuthorizationCompleteParams, peer: PeerIdentity
    ) async throws -> AuthorizationCompleteResult {
        do {
            let grant = try await finishSignIn(pasted: params.redirectURL)
            audit.record(
                peer: peer, application: nil, method: .authorizationComplete, resource: grant.resource.string,
                scopes: grant.grantedScopes, outcome: .completed)
            return AuthorizationCompleteResult(
                resource: grant.resource.string, issuer: grant.issuer, scopes: grant.grantedScopes.strings)
        } catch let failure as BrokerFailure {
            audit.record(
                peer: peer, application: nil, method: .authorizationComplete, resource: nil, scopes: [],
                outcome: .denied(failure.rpcError.reason.rawValue))
            throw failure
        }
    }

    private func finishSignIn(pasted address: String) async throws -> Grant {
        let pasted = address.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = pasted.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let query = parts.count == 2 ? String(parts[1].prefix { $0 != "#" }) : ""
        guard let state = FormURLEncoding.decode(query).first(where: { $0.0 == "state" })?.1 else {
            throw RPCError.invalidParams(
                message: "That is not a sign-in response: paste the whole address the browser ended on, with its `state` and `code`.")
        }
        // Only this daemon's own redirect URI: an address meant for another program's
        // sign-in must not be taken for ours.
        guard let flight = services.registry.flight(state: state), String(parts[0]) == flight.redirectURI else {
            throw BrokerFailure.authorizationFailed(
                "No sign-in in progress matches that address. Was all of it pasted? Otherwise the sign-in expired, was finished already, or belongs to another program.")
        }
        // A paste can be cut short (a wrapped line, a terminal's line limit): what the
        // callback would reject is refused here without ending the sign-in, so the person
        // can paste again. Only the server's own refusal (`error=`) ends it for everyone.
        do {
            _ = try AuthorizationResponse.validate(
                query: query, expectedState: flight.state, expectedIssuer: flight.issuer,
                issParameterSupported: flight.issParameterSupported)
        } catch .refused {
        } catch {
            throw BrokerFailure.authorizationFailed(
                "That address was not accepted (\(error)); paste all of it, from http:// to the end. The sign-in still waits.")
        }
        guard flight.callback.fulfill(query) else {
            throw BrokerFailure.authorizationFailed("That sign-in already received its response; it is not used twice.")
        }
        guard let outcome = await flight.outcome.value() else {
            throw BrokerFailure.authorizationFailed("The sign-in ended before the address arrived; start it again.")
        }
        return try outcome.get()
    }

    // MARK: grants/list

    private func grantsList() async throws -> GrantsListResult {
        let grants = try await storage { try await services.store.allGrants() }
        let flights = services.registry.all
        var summaries: [GrantSummary] = []
        for grant in grants.sorted(by: { $0.resource < $1.resource }) {
            let registration = try await storage { try await services.store.clientRegistration(issuer: grant.issuer) }
            let clientID = registration?.clientID ?? services.configuration.preregisteredClients.first {
                MetadataValidation.issuersMatch(declared: $0.issuer, expected: grant.issuer)
            }?.credentials.clientID
            let flight = flights.first { $0.resource == grant.resource }
            summaries.append(GrantSummary(
                resource: grant.resource.string, issuer: grant.issuer, clientID: clientID,
                requestedScopes: grant.requestedScopes.strings, grantedScopes: grant.grantedScopes.strings,
                hasAccessToken: grant.accessToken != nil, accessTokenExpiresAt: grant.accessTokenExpiresAt,
                hasRefreshToken: grant.refreshToken != nil, updatedAt: grant.updatedAt,
                pendingAuthorization: flight.map {
                    PendingAuthorization(authorizationURL: $0.authorizationURL, scopes: $0.scopes.strings, startedAt: $0.startedAt)
                }))
        }
        // A first sign-in in progress has no grant row yet; show it all the same.
        for flight in flights where !grants.contains(where: { $0.resource == flight.resource }) {
            summaries.append(GrantSummary(
                resource: flight.resource.string, issuer: flight.issuer, clientID: flight.client.clientID,
                requestedScopes: [], grantedScopes: [], hasAccessToken: false, accessTokenExpiresAt: nil,
                hasRefreshToken: false, updatedAt: flight.startedAt,
                pendingAuthorization: PendingAuthorization(
                    authorizationURL: flight.authorizationURL, scopes: flight.scopes.strings, startedAt: flight.startedAt)))
        }
        return GrantsListResult(grants: summaries)
    }

    // MARK: audit/list

    private func auditList(_ params: AuditListParams) async throws -> AuditListResult {
        await audit.flush()
        let entries = try await storage { try await services.store.recentAuditEntries(limit: params.limit) }
        return AuditListResult(entries: entries.map {
            AuditRecord(
                at: $0.at, uid: Int($0.peerUID), pid: Int($0.peerPID), executable: $0.executable, application: $0.application,
                method: $0.method, resource: $0.resource, scopes: $0.scopes.strings, outcome: $0.outcome.rawValue)
        })
    }

    // MARK: grants/revoke

    private func revoke(_ params: GrantsRevokeParams, peer: PeerIdentity) async throws -> GrantsRevokeResult {
        let all = try await storage { try await services.store.allGrants() }
        let targets: [Grant]
        switch params {
        case .all:
            targets = all
        case .resource(let text):
            let url: ResourceURI
            do {
                url = try ResourceURI(text, policy: services.http.policy)
            } catch {
                throw RPCError.invalidParams(message: "\(error)")
            }
            // The grant may be keyed by a resource that covers this URL (`/api` for `/api/files`).
            targets = all.filter { $0.resource.covers(url) }
        }
        var revoked: [RevokedGrant] = []
        for grant in targets {
            let remote = await revokeRemotely(grant)
            try await storage {
                _ = try await services.store.deleteTokens(resource: grant.resource, at: services.now())
                // Revocation ends the grant: the next sign-in asks only for what is needed again.
                if var cleared = try await services.store.grant(resource: grant.resource, issuer: grant.issuer) {
                    cleared.requestedScopes = []
                    cleared.grantedScopes = []
                    try await services.store.saveGrant(cleared)
                }
            }
            await broker.existingSession(for: grant.resource)?.revoked()
            audit.record(peer: peer, application: nil, method: .grantsRevoke, resource: grant.resource.string, scopes: grant.grantedScopes, outcome: .revoked)
            revoked.append(RevokedGrant(resource: grant.resource.string, remote: remote))
        }
        return GrantsRevokeResult(revoked: revoked)
    }

    /// RFC 7009 at the server's revocation endpoint: the refresh token (which ends the
    /// grant at most servers), then the access token.
    private func revokeRemotely(_ grant: Grant) async -> RemoteRevocation {
        let tokens = [(grant.refreshToken, "refresh_token"), (grant.accessToken, "access_token")].compactMap { token, hint in
            token.map { ($0, hint) }
        }
        guard !tokens.isEmpty else { return .revoked }
        guard let stored = try? await services.store.authorizationServer(issuer: grant.issuer),
            let metadata = try? JSONDecoder().decode(AuthorizationServerMetadata.self, from: Data(stored.metadataJSON.utf8)),
            let endpointText = metadata.revocationEndpoint, let endpoint = try? HTTPURL(parsing: endpointText),
            (try? services.http.policy.check(endpoint)) != nil
        else { return .unsupported }
        guard let client = await clientCredentials(issuer: grant.issuer) else { return .failed }
        for (token, hint) in tokens {
            let post = OAuthRequests.revocation(revocationEndpoint: endpoint, token: token, hint: hint, client: client)
            guard let answer = try? await services.http.post(post), answer.status == 200 else { return .failed }
        }
        return .revoked
    }

    private func clientCredentials(issuer: String) async -> ClientCredentials? {
        if let preregistered = services.configuration.preregisteredClients.first(where: {
            MetadataValidation.issuersMatch(declared: $0.issuer, expected: issuer)
        }) {
            return preregistered.credentials
        }
        guard let stored = try? await services.store.clientRegistration(issuer: issuer) else {
            return services.configuration.metadataDocumentClientID.map { ClientCredentials(clientID: $0) }
        }
        return stored.credentials
    }

    private func storage<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch {
            services.logger.error("storage failed", metadata: ["error": "\(error)"])
            throw BrokerFailure.internalError("the broker's database failed: \(error)")
        }
    }
}

extension BrokerFailure {
    /// The wire form of this failure.
    var rpcError: RPCError {
        let reason: RPCErrorReason =
            switch self.reason {
            case .invalidParams: .invalidParams
            case .authorizationRequired: .authorizationRequired
            case .authorizationFailed: .authorizationFailed
            case .discoveryFailed: .discoveryFailed
            case .upstreamUnavailable: .upstreamUnavailable
            case .scopeUnattainable: .scopeUnattainable
            case .internalError: .internalError
            }
        return RPCError(reason: reason, message: message, authorizationURL: authorizationURL, oauthError: oauthError?.rawValue)
    }
}

extension Error {
    /// Any error as the wire error a client sees.
    var rpcError: RPCError {
        if let error = self as? RPCError { return error }
        if let failure = self as? BrokerFailure { return failure.rpcError }
        return .internalError
    }
}
