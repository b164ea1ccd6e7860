internal import Foundation
internal import Logging
internal import Synchronization
internal import TokenBrokerCore
internal import TokenBrokerProtocol
internal import TokenBrokerStorage

/// Who is on the other end of a connection (SO_PEERCRED), for the audit log, with what
/// its answers showed so far.
struct PeerIdentity: Sendable {
    var uid: UInt32
    var pid: Int32
    var executable: String?
    /// One per connection: a new identity is made for each.
    var uses = ConnectionUses()
}

/// A connection's ``ConnectionUseRecord``, shared by its event loop (cache hits) and its
/// request tasks (everything else).
final class ConnectionUses: Sendable {
    private let record = Mutex(ConnectionUseRecord())

    /// Records an answer for `resource`; `true` when it shows a successful use.
    func noteAnswer(for resource: ResourceURI, served: Bool) -> Bool {
        record.withLock { $0.noteAnswer(for: resource, served: served) }
    }
}

/// Turns JSON-RPC requests into broker calls and broker outcomes into responses.
struct RequestDispatcher: Sendable {
    let broker: TokenBroker
    let info: BrokerInfo
    let audit: AuditRecorder
    /// Resource URLs clients sent, canonicalized once: a cache hit otherwise spent a tenth
    /// of its time parsing the same URL again.
    let resources = CanonicalResources()

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
                let params = try GrantsListParams(params: request.params)
                return JSONRPCResponse(id: request.id, result: try await grantsList(params))
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
            broker.services.logger.error("unexpected error", metadata: ["method": "\(request.method)", "error": "\(type(of: error))"])
            return JSONRPCResponse(id: request.id, error: .internalError)
        }
    }

    /// The answer to `request` when it needs no waiting: a token held in memory that
    /// covers the request, or `broker/info`. `nil` sends the request to ``respond(to:peer:notify:)``,
    /// which also explains invalid params. Runs on the connection's event loop: it takes
    /// a few short locks and touches no actor, database or network.
    /// Returns the answer's line.
    func immediateResponse(to request: JSONRPCRequest, peer: PeerIdentity) -> [UInt8]? {
        switch request.method {
        case .brokerInfo:
            return JSONRPCResponse(id: request.id, result: info).encodedLine()
        case .tokenGet:
            // Exact-scope tokens are held by the resource's session, not in the shared cache.
            guard let params = try? TokenGetParams(params: request.params), params.challenge == nil, params.status == nil,
                !params.exactScopes,
                let (url, needed, application) = try? validated(params),
                let hit = broker.cachedToken(
                    for: url, needed: needed, minimumValidity: TimeInterval(params.minValidSeconds), connection: peer.uses)
            else { return nil }
            audit.record(peer: peer, application: application, method: .tokenGet, resource: url.string, scopes: hit.scopes, outcome: .served)
            return result(hit).encodedResponseLine(id: request.id)
        default:
            return nil
        }
    }

    // MARK: token/get

    /// The resource, the scopes and the application name of a `token/get`, checked.
    private func validated(_ params: TokenGetParams) throws(RPCError) -> (ResourceURI, ScopeSet, String?) {
        let url: ResourceURI
        do {
            url = try resources.canonical(params.resource, policy: broker.transportPolicy)
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
        if params.exactScopes, needed.isEmpty {
            throw .invalidParams(message: "exactScopes needs the scopes the token is to carry")
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
            request: TokenRequest(
                neededScopes: needed, challenge: challenge, status: params.status ?? (challenge == nil ? nil : 401),
                rejectedToken: params.rejectedToken.map { Secret($0.exposedValue) },
                minimumValidity: TimeInterval(params.minValidSeconds), exactScopes: params.exactScopes),
            challengeMetadataURL: challenge?.resourceMetadata,
            interactive: params.interactive,
            // Any integer is a valid wait; past a year it is the same wait, and stays a
            // number every later conversion (Duration, Int for messages) can hold.
            waitSeconds: min(Double(params.waitSeconds), longestWait),
            method: params.flow.map { flow in
                switch flow {
                case .browser: .browser
                case .device: .device
                }
            },
            notifyPending: { notice in
                await notify(.authorizationPending(AuthorizationPendingParams(
                    resource: notice.resource.string, authorizationURL: notice.authorizationURL, scopes: notice.scopes.strings,
                    device: notice.device?.shown)))
            })
        do {
            let token = try await broker.token(for: url, ask: ask)
            if peer.uses.noteAnswer(for: url, served: !ask.request.reportsChallenge) { broker.confirmUse(for: url) }
            let outcome: AuditOutcome =
                switch token.origin {
                case .held: .served
                case .refreshed: .refreshed
                case .signIn: .authorized
                }
            audit.record(peer: peer, application: application, method: .tokenGet, resource: url.string, scopes: token.scopes, outcome: outcome)
            return result(token)
        } catch {
            _ = peer.uses.noteAnswer(for: url, served: false)
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
            let grant = try await broker.completeSignIn(pastedAddress: params.redirectURL)
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

    // MARK: grants/list

    /// The most bytes of grant entries in one answer, so a page of long entries (many
    /// scopes, long URLs) still fits well within the 1 MiB line limit.
    static let grantsPageBytes = 512 * 1024

    private func grantsList(_ params: GrantsListParams) async throws -> GrantsListResult {
        let cursor = try params.cursor.map(Self.grantKey(cursor:))
        let page = try await broker.grants(
            after: cursor, limit: params.limit,
            filter: GrantFilter(resourcePrefix: params.resourcePrefix, issuer: params.issuer), pendingOnly: params.pendingOnly)
        var grants: [GrantSummary] = []
        var bytes = 0
        for summary in page.grants {
            bytes += summary.jsonValue.serialized().count + 1
            if bytes > Self.grantsPageBytes, let last = grants.last {
                // The rest comes on the next page, after the last entry sent.
                return GrantsListResult(grants: grants, nextCursor: Self.cursor(after: GrantKey(resource: last.resource, issuer: last.issuer)))
            }
            grants.append(summary)
        }
        return GrantsListResult(grants: grants, nextCursor: page.next.map(Self.cursor(after:)))
    }

    /// An opaque cursor: the last key listed, base64url so clients pass it back unchanged.
    static func cursor(after key: GrantKey) -> String {
        Data((key.resource + "\n" + key.issuer).utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    static func grantKey(cursor: String) throws(RPCError) -> GrantKey {
        let base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard cursor.utf8.count <= 16 * 1024, let data = Data(base64Encoded: base64),
            let text = String(data: data, encoding: .utf8), let newline = text.firstIndex(of: "\n")
        else {
            throw .invalidParams(message: "`cursor` is not one this daemon gave; pass a `nextCursor` unchanged, or none for the first page.")
        }
        return GrantKey(resource: String(text[..<newline]), issuer: String(text[text.index(after: newline)...]))
    }

    // MARK: audit/list

    private func auditList(_ params: AuditListParams) async throws -> AuditListResult {
        let entries = try await audit.recent(limit: params.limit)
        return AuditListResult(entries: entries.map {
            AuditRecord(
                at: $0.at, uid: Int($0.peerUID), pid: Int($0.peerPID), executable: $0.executable, application: $0.application,
                method: $0.method, resource: $0.resource, scopes: $0.scopes.strings, outcome: $0.outcome.rawValue)
        })
    }

    // MARK: grants/revoke

    private func revoke(_ params: GrantsRevokeParams, peer: PeerIdentity) async throws -> GrantsRevokeResult {
        var resource: ResourceURI?
        if case .resource(let text) = params {
            do {
                resource = try ResourceURI(text, policy: broker.transportPolicy)
            } catch {
                throw RPCError.invalidParams(message: "\(error)")
            }
        }
        let revoked = try await broker.revoke(resource: resource)
        for (grant, _) in revoked {
            audit.record(peer: peer, application: nil, method: .grantsRevoke, resource: grant.resource.string, scopes: grant.grantedScopes, outcome: .revoked)
        }
        return GrantsRevokeResult(revoked: revoked.map { RevokedGrant(resource: $0.0.resource.string, remote: $0.1) })
    }
}

extension BrokerFailure {
    /// The wire form of this failure.
    var rpcError: RPCError {
        return RPCError(
            reason: reason, message: message, authorizationURL: authorizationURL, oauthError: oauthError?.rawValue,
            httpStatus: httpStatus)
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

/// The canonical ``ResourceURI`` of each resource URL a client sent, remembered. At most
/// ``capacity`` are kept (a client sending ever new URLs empties it), each at most
/// ``longestRemembered`` bytes (longer ones, up to `HTTPURL`'s 8 KiB, are parsed every
/// time), so a hostile client can make it hold a few megabytes at most; refused URLs are
/// not kept, so each is refused with its reason.
final class CanonicalResources: Sendable {
    let capacity = 1024
    let longestRemembered = 1024
    private let known = Mutex<[String: ResourceURI]>([:])

    /// `ResourceURI(raw, policy:)`, remembered for `raw` (the policy is the daemon's, fixed).
    func canonical(_ raw: String, policy: TransportPolicy) throws(ResourceURIError) -> ResourceURI {
        if let url = known.withLock({ $0[raw] }) { return url }
        let url = try ResourceURI(raw, policy: policy)
        guard raw.utf8.count <= longestRemembered else { return url }
        known.withLock { known in
            if known.count >= capacity { known.removeAll(keepingCapacity: true) }
            known[raw] = url
        }
        return url
    }

    /// URLs remembered now.
    var count: Int { known.withLock { $0.count } }
}
