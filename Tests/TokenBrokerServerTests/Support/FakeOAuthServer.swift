import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TokenBrokerTestKit

/// One in-process HTTP server on `127.0.0.1:<port>` playing both the MCP resource server
/// and its authorization server, whose behaviour each test sets (the knobs of
/// `mcp-authorization.md` §10.4) and which records every request it receives.
///
/// Routes:
/// - `GET /.well-known/oauth-protected-resource/mcp`: protected resource metadata
/// - `GET /.well-known/oauth-authorization-server`: authorization server metadata
/// - `GET /authorize`, `POST /token`, `POST /register`, `POST /revoke`
/// - `POST|GET /mcp`: the resource; 401/403 with a Bearer challenge unless the token
///   carries ``Behaviour/requiredScopes``.
///
/// Issued values are recognisable so tests can look for leaks: access tokens
/// `at-SECRET-<n>`, refresh tokens `rt-SECRET-<n>`, codes `code-SECRET-<n>`, client
/// secrets `cs-SECRET-<n>` (``Behaviour/secretTag`` changes the middle part).
final class FakeOAuthServer: Sendable {
    // MARK: Knobs

    enum IssMode: Sendable, Equatable {
        case correct
        case omit
        case wrong(String)
    }

    /// The `scope` member of token responses.
    enum ScopeMode: Sendable, Equatable {
        /// The scopes asked for (authorization code) or those of the refresh token.
        case echo
        /// No `scope` member.
        case omit
        /// The echoed scopes without these.
        case narrow(removing: [String])
    }

    /// What `/token` does for one grant type instead of issuing tokens.
    enum TokenFault: Sendable, Equatable {
        /// 400 `{"error": "<code>"}`.
        case oauthError(String)
        /// This HTTP status with an empty JSON body.
        case status(Int)
        /// This status and body as they are (truncated JSON, an HTML page…).
        case body(Int, String)
        /// A 302 to this location.
        case redirect(String)
    }

    struct Behaviour: Sendable {
        // Protected resource metadata
        var prmResource: String?
        var authorizationServers: [String]?
        var prmScopesSupported: [String]?
        // Authorization server metadata
        var issuerOverride: String?
        var codeChallengeMethods: [String]? = ["S256"]
        /// An authorization server for machines: no authorization endpoint, no `code` response type.
        var authorizationCodeEnabled = true
        var issParameterSupported: Bool? = true
        var asScopesSupported: [String]?
        var registrationEnabled = true
        var revocationEnabled = true
        /// RFC 8628: a device authorization endpoint at `/device`.
        var deviceFlowEnabled = false
        /// A server of MCP's 2025-03-26 revision: no protected resource metadata, and
        /// (without `asMetadataEnabled`) no authorization server metadata either.
        var prmEnabled = true
        var asMetadataEnabled = true
        /// A status the protected resource metadata URL answers with instead (a failing server).
        var prmFailureStatus: Int?
        /// `interval` in device authorization responses; `nil` leaves it out.
        var deviceInterval: Int? = 5
        var deviceExpiresIn = 600
        /// The answers to a device code's polls, in order (`authorization_pending`,
        /// `slow_down`, `access_denied`, …); once used up, tokens.
        var devicePollAnswers: [String] = []
        /// When set, `/revoke` answers this status and revokes nothing.
        var revokeStatus: Int?
        // Registration
        var clientIDPrefix = "client"
        /// The middle of every issued secret: `at-<tag>-1`, `rt-<tag>-2`…
        var secretTag = "SECRET"
        var issueClientSecret = false
        /// Like django-oauth-toolkit: one grant type per client (besides refresh_token),
        /// so a registration asking for several is refused with invalid_client_metadata.
        var oneGrantTypePerClient = false
        var clientAuthMethod = "client_secret_basic"
        // Authorization
        var issMode = IssMode.correct
        /// Redirect with `error=<this>` instead of a code.
        var authorizeError: String?
        // Token endpoint
        var scopeMode = ScopeMode.echo
        var expiresIn: Int? = 3600
        var issueRefreshToken = true
        var rotateRefreshTokens = true
        var codeFault: TokenFault?
        var refreshFault: TokenFault?
        /// Client credentials clients (RFC 6749 §4.4): id → secret, checked in a Basic
        /// header; a request with a `client_assertion` instead is taken as the `client_id` it names.
        var clientCredentialsClients: [String: String] = [:]
        var clientCredentialsFault: TokenFault?
        /// A refresh with `scope` (a narrower token, RFC 6749 §6) is refused with `invalid_scope`.
        var refuseNarrowing = false
        /// When set, `/token` waits for the gate before answering.
        var tokenGate: Gate?
        // Resource
        var requiredScopes: [String] = []
        /// Whether the 403 names the missing scopes (`scope="…"`).
        var scopeInForbiddenChallenge = true
    }

    // MARK: Records

    struct Field: Sendable, Equatable {
        var name: String
        var value: String
    }

    struct RecordedRequest: Sendable {
        var method: String
        var path: String
        var query: [Field]
        var headers: [Field]
        var body: String

        /// Form fields of the body (POST) or the query (GET).
        var fields: [Field] {
            method == "POST" && !body.hasPrefix("{") ? FormCoding.decode(body) : query
        }

        /// The first field named `name`.
        subscript(field name: String) -> String? { fields.first { $0.name == name }?.value }

        /// Every field named `name`.
        func all(_ name: String) -> [String] { fields.filter { $0.name == name }.map(\.value) }

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        /// `grant_type` of a token request.
        var grantType: String? { self[field: "grant_type"] }
    }

    /// A request with the answer it got.
    struct Exchange: Sendable {
        var request: RecordedRequest
        var status: Int
        var body: String

        /// A string member of the JSON answer.
        func member(_ name: String) -> String? {
            let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
            return object?[name] as? String
        }
    }

    // MARK: State

    private struct CodeGrant {
        var challenge: String?
        var challengeMethod: String?
        var scopes: [String]
        var resource: String?
        var clientID: String?
        var redirectURI: String?
    }

    private struct RefreshGrant {
        var scopes: [String]
        var resource: String?
        var clientID: String?
    }

    private struct State {
        var behaviour = Behaviour()
        var counter = 0
        var codes: [String: CodeGrant] = [:]
        var refreshTokens: [String: RefreshGrant] = [:]
        /// Device codes not yet redeemed, with the scopes and client they were issued for.
        var deviceCodes: [String: CodeGrant] = [:]
        /// Each registered client's `grant_types`.
        var clientGrantTypes: [String: [String]] = [:]
        var accessTokens: [String: [String]] = [:]
        var revoked: [String] = []

        mutating func next(_ prefix: String) -> String {
            counter += 1
            return "\(prefix)-\(counter)"
        }
    }

    private let state = Mutex(State())
    /// Every request, in arrival order.
    let log = EventLog<RecordedRequest>()
    /// Every answered request with its answer, in the order answered.
    let exchanges = EventLog<Exchange>()
    let origin: String
    private let listener: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    private let serving = Mutex<Task<Void, Never>?>(nil)

    /// The issuer (and authorization server base URL).
    var issuer: String { origin }
    /// The MCP server URL clients use.
    var resource: String { origin + "/mcp" }
    var prmURL: String { origin + "/.well-known/oauth-protected-resource/mcp" }

    // MARK: Lifecycle

    private init(
        listener: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>,
        behaviour: Behaviour
    ) {
        self.listener = listener
        origin = "http://127.0.0.1:\(listener.channel.localAddress?.port ?? 0)"
        state.withLock { $0.behaviour = behaviour }
    }

    private func startServing() {
        let listener = listener
        let task = Task<Void, Never> {
            try? await withThrowingDiscardingTaskGroup { group in
                try await listener.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await self.serve(connection) }
                    }
                }
            }
        }
        serving.withLock { $0 = task }
    }

    /// Starts a fake on a free loopback port.
    static func start(_ configure: (inout Behaviour) -> Void = { _ in }) async throws -> FakeOAuthServer {
        var behaviour = Behaviour()
        configure(&behaviour)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        let server = FakeOAuthServer(listener: listener, behaviour: behaviour)
        server.startServing()
        return server
    }

    func stop() async {
        try? await listener.channel.close()
        await serving.withLock { $0 }?.value
    }

    /// Changes the behaviour from now on.
    func update(_ change: (inout Behaviour) -> Void) {
        state.withLock { change(&$0.behaviour) }
    }

    // MARK: Queries for tests

    var requests: [RecordedRequest] { log.items }

    func requests(to path: String) -> [RecordedRequest] { log.items.filter { $0.path == path } }

    func tokenRequests(grantType: String) -> [RecordedRequest] {
        requests(to: "/token").filter { $0.grantType == grantType }
    }

    /// Waits until `count` requests to `path` arrived; returns the `count`-th.
    @discardableResult
    func waitForRequest(to path: String, count: Int = 1) async -> RecordedRequest {
        let items = await log.wait { $0.filter { $0.path == path }.count >= count }
        return items.filter { $0.path == path }[count - 1]
    }

    /// Answers of `/token` for one grant type, in order.
    func tokenExchanges(grantType: String) -> [Exchange] {
        exchanges.items.filter { $0.request.path == "/token" && $0.request.grantType == grantType }
    }

    /// Tokens given to `/revoke`, in order.
    var revokedTokens: [String] { state.withLock { $0.revoked } }

    /// The `WWW-Authenticate` value a 401 without a token gets, as an MCP client sees it.
    func unauthorizedChallenge(scope: String? = nil) -> String {
        var parameters = [#"error="invalid_token""#]
        if let scope { parameters.append(#"scope="\#(scope)""#) }
        parameters.append(#"resource_metadata="\#(prmURL)""#)
        return "Bearer " + parameters.joined(separator: ", ")
    }

    // MARK: Serving

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    body.clear()
                case .body(var chunk):
                    body.writeBuffer(&chunk)
                case .end:
                    guard let head else { return }
                    let request = Self.record(head, body: String(buffer: body))
                    log.append(request)
                    let response = await handle(request)
                    exchanges.append(Exchange(request: request, status: response.status, body: response.body))
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: response.contentType)
                    headers.add(name: "Content-Length", value: String(response.body.utf8.count))
                    headers.add(name: "Connection", value: "close")
                    for (name, value) in response.headers { headers.add(name: name, value: value) }
                    try await outbound.write(.head(HTTPResponseHead(
                        version: head.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(string: response.body))))
                    try await outbound.write(.end(nil))
                    return
                }
            }
        }
    }

    private static func record(_ head: HTTPRequestHead, body: String) -> RecordedRequest {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return RecordedRequest(
            method: head.method.rawValue, path: String(parts[0]),
            query: parts.count > 1 ? FormCoding.decode(String(parts[1])) : [],
            headers: head.headers.map { Field(name: $0.name, value: $0.value) }, body: body)
    }

    private struct Response {
        var status: Int
        var body: String = ""
        var contentType = "application/json"
        var headers: [(String, String)] = []

        static func json(_ object: [String: Any], status: Int = 200) -> Response {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return Response(status: status, body: String(decoding: data, as: UTF8.self))
        }

        static func oauthError(_ code: String, status: Int = 400) -> Response {
            json(["error": code], status: status)
        }

        static func redirect(_ location: String) -> Response {
            Response(status: 302, contentType: "text/plain", headers: [("Location", location)])
        }

        static let notFound = Response(status: 404, body: #"{"error":"not_found"}"#)
    }

    private func handle(_ request: RecordedRequest) async -> Response {
        switch (request.method, request.path) {
        case ("GET", "/.well-known/oauth-protected-resource/mcp") where state.withLock({ $0.behaviour.prmFailureStatus != nil }):
            return .json([:], status: state.withLock { $0.behaviour.prmFailureStatus ?? 500 })
        case ("GET", "/.well-known/oauth-protected-resource/mcp") where state.withLock({ $0.behaviour.prmEnabled }):
            return protectedResourceMetadata()
        case ("GET", "/.well-known/oauth-authorization-server") where state.withLock({ $0.behaviour.asMetadataEnabled }):
            return authorizationServerMetadata()
        case ("GET", "/authorize"): return authorize(request)
        case ("POST", "/token"):
            if let gate = state.withLock({ $0.behaviour.tokenGate }) { await gate.wait() }
            return token(request)
        case ("POST", "/register"): return register(request)
        case ("POST", "/device"): return deviceAuthorization(request)
        case ("POST", "/revoke"): return revoke(request)
        case (_, "/mcp"): return mcp(request)
        case ("GET", let path) where path.hasPrefix(Self.otherResourcesMetadataPrefix):
            // More resources of this authorization server, each with its own PRM.
            return protectedResourceMetadata(resource: otherResource(String(path.dropFirst(Self.otherResourcesMetadataPrefix.count))))
        case (_, let path) where path.hasPrefix("/more/"): return mcp(request)
        default: return .notFound
        }
    }

    private static let otherResourcesMetadataPrefix = "/.well-known/oauth-protected-resource/more/"

    /// Another resource served here, under `/more/`, at the same authorization server.
    func otherResource(_ name: String) -> String { origin + "/more/" + name }

    private func protectedResourceMetadata(resource other: String? = nil) -> Response {
        let behaviour = state.withLock { $0.behaviour }
        var object: [String: Any] = [
            "resource": other ?? behaviour.prmResource ?? resource,
            "authorization_servers": behaviour.authorizationServers ?? [issuer],
            "bearer_methods_supported": ["header"],
        ]
        if let scopes = behaviour.prmScopesSupported { object["scopes_supported"] = scopes }
        return .json(object)
    }

    private func authorizationServerMetadata() -> Response {
        let behaviour = state.withLock { $0.behaviour }
        var object: [String: Any] = [
            "issuer": behaviour.issuerOverride ?? issuer,
            "authorization_endpoint": origin + "/authorize",
            "token_endpoint": origin + "/token",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        ]
        if !behaviour.authorizationCodeEnabled {
            object["authorization_endpoint"] = nil
            object["response_types_supported"] = nil
            object["grant_types_supported"] = ["client_credentials"]
        }
        if behaviour.registrationEnabled { object["registration_endpoint"] = origin + "/register" }
        if behaviour.revocationEnabled { object["revocation_endpoint"] = origin + "/revoke" }
        if behaviour.deviceFlowEnabled { object["device_authorization_endpoint"] = origin + "/device" }
        if let methods = behaviour.codeChallengeMethods { object["code_challenge_methods_supported"] = methods }
        if let supported = behaviour.issParameterSupported { object["authorization_response_iss_parameter_supported"] = supported }
        if let scopes = behaviour.asScopesSupported { object["scopes_supported"] = scopes }
        return .json(object)
    }

    private func authorize(_ request: RecordedRequest) -> Response {
        guard let redirectURI = request[field: "redirect_uri"] else { return .oauthError("invalid_request") }
        return state.withLock { (state) -> Response in
            var pairs: [(String, String)] = []
            if let error = state.behaviour.authorizeError {
                pairs.append(("error", error))
            } else {
                let code = state.next("code-\(state.behaviour.secretTag)")
                state.codes[code] = CodeGrant(
                    challenge: request[field: "code_challenge"], challengeMethod: request[field: "code_challenge_method"],
                    scopes: (request[field: "scope"] ?? "").split(separator: " ").map(String.init),
                    resource: request[field: "resource"], clientID: request[field: "client_id"], redirectURI: redirectURI)
                pairs.append(("code", code))
            }
            if let value = request[field: "state"] { pairs.append(("state", value)) }
            switch state.behaviour.issMode {
            case .correct: pairs.append(("iss", state.behaviour.issuerOverride ?? issuer))
            case .omit: break
            case .wrong(let other): pairs.append(("iss", other))
            }
            let separator = redirectURI.contains("?") ? "&" : "?"
            return .redirect(redirectURI + separator + FormCoding.encode(pairs))
        }
    }

    private func token(_ request: RecordedRequest) -> Response {
        state.withLock { (state) -> Response in
            let behaviour = state.behaviour
            switch request.grantType {
            case "authorization_code":
                if let fault = behaviour.codeFault { return Self.response(for: fault) }
                guard let code = request[field: "code"], let grant = state.codes.removeValue(forKey: code) else {
                    return .oauthError("invalid_grant")
                }
                // PKCE (RFC 7636 §4.6): S256 only.
                guard grant.challengeMethod == "S256", let challenge = grant.challenge,
                    let verifier = request[field: "code_verifier"], PKCECheck.challenge(for: verifier) == challenge
                else { return .oauthError("invalid_grant") }
                guard request[field: "redirect_uri"] == grant.redirectURI else { return .oauthError("invalid_grant") }
                return issue(
                    &state, scopes: grant.scopes, resource: request[field: "resource"], clientID: request[field: "client_id"],
                    refreshToken: nil)
            case "refresh_token":
                if let fault = behaviour.refreshFault { return Self.response(for: fault) }
                guard let token = request[field: "refresh_token"], let grant = state.refreshTokens[token] else {
                    return .oauthError("invalid_grant")
                }
                // RFC 6749 §6: only the client the token was issued to may use it.
                if let sender = request[field: "client_id"], let owner = grant.clientID, sender != owner {
                    return .oauthError("invalid_grant")
                }
                var scopes = grant.scopes
                if let asked = request[field: "scope"] {
                    let narrower = asked.split(separator: " ").map(String.init)
                    guard !behaviour.refuseNarrowing, Set(narrower).isSubset(of: grant.scopes) else {
                        return .oauthError("invalid_scope")
                    }
                    scopes = narrower
                }
                if behaviour.rotateRefreshTokens { state.refreshTokens[token] = nil }
                // RFC 6749 §6: a new refresh token has the scope of the one it replaces.
                return issue(
                    &state, scopes: scopes, resource: grant.resource, clientID: grant.clientID,
                    refreshToken: behaviour.rotateRefreshTokens ? nil : token, refreshScopes: grant.scopes)
            case "urn:ietf:params:oauth:grant-type:device_code":
                guard let code = request[field: "device_code"], let grant = state.deviceCodes[code] else {
                    return .oauthError("invalid_grant")
                }
                guard request[field: "client_id"] == grant.clientID else { return .oauthError("invalid_grant") }
                if !state.behaviour.devicePollAnswers.isEmpty {
                    let answer = state.behaviour.devicePollAnswers.removeFirst()
                    if answer == "access_denied" || answer == "expired_token" { state.deviceCodes[code] = nil }
                    return .oauthError(answer)
                }
                state.deviceCodes[code] = nil
                return issue(
                    &state, scopes: grant.scopes, resource: request[field: "resource"], clientID: grant.clientID,
                    refreshToken: nil)
            case "client_credentials":
                if let fault = behaviour.clientCredentialsFault { return Self.response(for: fault) }
                let clientID: String
                if let assertion = request[field: "client_assertion"], !assertion.isEmpty, let named = request[field: "client_id"],
                    behaviour.clientCredentialsClients[named] != nil
                {
                    clientID = named
                } else if let header = request.header("authorization"), header.hasPrefix("Basic "),
                    let decoded = Data(base64Encoded: String(header.dropFirst(6))),
                    case let pair = String(decoding: decoded, as: UTF8.self).split(separator: ":", maxSplits: 1).map(String.init),
                    pair.count == 2, let secret = behaviour.clientCredentialsClients[pair[0]], secret == pair[1]
                {
                    clientID = pair[0]
                } else {
                    return .json(["error": "invalid_client"], status: 401)
                }
                return issue(
                    &state, scopes: (request[field: "scope"] ?? "").split(separator: " ").map(String.init),
                    resource: request[field: "resource"], clientID: clientID, refreshToken: nil)
            default:
                return .oauthError("unsupported_grant_type")
            }
        }
    }

    /// RFC 8628 §3.2: a device code (secret) and a user code for the person.
    private func deviceAuthorization(_ request: RecordedRequest) -> Response {
        state.withLock { (state) -> Response in
            let behaviour = state.behaviour
            guard behaviour.deviceFlowEnabled else { return .notFound }
            // Like real servers: only a client registered for the device grant.
            if let clientID = request[field: "client_id"], let types = state.clientGrantTypes[clientID],
                !types.contains("urn:ietf:params:oauth:grant-type:device_code")
            {
                return .oauthError("unauthorized_client")
            }
            let deviceCode = state.next("device-\(behaviour.secretTag)")
            let userCode = "WDJB-MJH\(state.counter % 10)"
            state.deviceCodes[deviceCode] = CodeGrant(
                challenge: nil, challengeMethod: nil,
                scopes: (request[field: "scope"] ?? "").split(separator: " ").map(String.init),
                resource: request[field: "resource"], clientID: request[field: "client_id"], redirectURI: nil)
            var object: [String: Any] = [
                "device_code": deviceCode, "user_code": userCode, "verification_uri": origin + "/activate",
                "verification_uri_complete": origin + "/activate?user_code=" + userCode, "expires_in": behaviour.deviceExpiresIn,
            ]
            if let interval = behaviour.deviceInterval { object["interval"] = interval }
            return .json(object)
        }
    }

    /// Issues an access token (and a refresh token unless `refreshToken` is kept).
    private func issue(
        _ state: inout State, scopes: [String], resource: String?, clientID: String?, refreshToken kept: String?,
        refreshScopes: [String]? = nil
    ) -> Response {
        let behaviour = state.behaviour
        let granted: [String]
        switch behaviour.scopeMode {
        case .echo, .omit: granted = scopes
        case .narrow(let removed): granted = scopes.filter { !removed.contains($0) }
        }
        let accessToken = state.next("at-\(behaviour.secretTag)")
        state.accessTokens[accessToken] = granted
        var object: [String: Any] = ["access_token": accessToken, "token_type": "Bearer"]
        if let expiresIn = behaviour.expiresIn { object["expires_in"] = expiresIn }
        if behaviour.scopeMode != .omit, !granted.isEmpty { object["scope"] = granted.joined(separator: " ") }
        if behaviour.issueRefreshToken {
            if kept == nil {
                let refreshToken = state.next("rt-\(behaviour.secretTag)")
                state.refreshTokens[refreshToken] = RefreshGrant(
                    scopes: refreshScopes ?? granted, resource: resource, clientID: clientID)
                object["refresh_token"] = refreshToken
            }
        }
        return .json(object)
    }

    private static func response(for fault: TokenFault) -> Response {
        switch fault {
        case .oauthError(let code): .oauthError(code)
        case .status(let status): .json([:], status: status)
        case .body(let status, let body): Response(status: status, body: body)
        case .redirect(let location): .redirect(location)
        }
    }

    private func register(_ request: RecordedRequest) -> Response {
        state.withLock { (state) -> Response in
            guard state.behaviour.registrationEnabled else { return .notFound }
            let body = (try? JSONSerialization.jsonObject(with: Data(request.body.utf8))) as? [String: Any] ?? [:]
            let clientID = state.next(state.behaviour.clientIDPrefix)
            let grantTypes = body["grant_types"] as? [String] ?? ["authorization_code"]
            if state.behaviour.oneGrantTypePerClient, grantTypes.filter({ $0 != "refresh_token" }).count > 1 {
                return .oauthError("invalid_client_metadata")
            }
            state.clientGrantTypes[clientID] = grantTypes
            var object: [String: Any] = [
                "client_id": clientID,
                "redirect_uris": body["redirect_uris"] ?? [],
                "client_id_issued_at": 1_700_000_000,
                "grant_types": grantTypes,
            ]
            if state.behaviour.issueClientSecret {
                object["client_secret"] = "cs-\(state.behaviour.secretTag)-\(state.counter)"
                object["client_secret_expires_at"] = 0
                object["token_endpoint_auth_method"] = state.behaviour.clientAuthMethod
            } else {
                object["token_endpoint_auth_method"] = "none"
            }
            return .json(object, status: 201)
        }
    }

    private func revoke(_ request: RecordedRequest) -> Response {
        state.withLock { (state) -> Response in
            guard state.behaviour.revocationEnabled else { return .notFound }
            if let status = state.behaviour.revokeStatus { return .json([:], status: status) }
            guard let token = request[field: "token"] else { return .oauthError("invalid_request") }
            state.revoked.append(token)
            state.refreshTokens[token] = nil
            state.accessTokens[token] = nil
            return Response(status: 200)
        }
    }

    private func mcp(_ request: RecordedRequest) -> Response {
        state.withLock { (state) -> Response in
            let behaviour = state.behaviour
            let bearer = request.header("Authorization").flatMap { value -> String? in
                value.hasPrefix("Bearer ") ? String(value.dropFirst(7)) : nil
            }
            guard let bearer, let scopes = state.accessTokens[bearer] else {
                return Response(status: 401, headers: [("WWW-Authenticate", unauthorizedChallenge())])
            }
            let missing = behaviour.requiredScopes.filter { !scopes.contains($0) }
            guard missing.isEmpty else {
                var parameters = [#"error="insufficient_scope""#]
                if behaviour.scopeInForbiddenChallenge {
                    parameters.append(#"scope="\#(behaviour.requiredScopes.joined(separator: " "))""#)
                }
                parameters.append(#"resource_metadata="\#(prmURL)""#)
                return Response(status: 403, headers: [("WWW-Authenticate", "Bearer " + parameters.joined(separator: ", "))])
            }
            return .json(["ok": true])
        }
    }
}

/// `application/x-www-form-urlencoded`, written independently of the daemon's code.
enum FormCoding {
    static func decode(_ text: String) -> [FakeOAuthServer.Field] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func unescape(_ part: Substring) -> String {
                let spaced = part.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return FakeOAuthServer.Field(name: unescape(parts[0]), value: parts.count > 1 ? unescape(parts[1]) : "")
        }
    }

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                output.append(Character(UnicodeScalar(byte)))
            default:
                output += String(format: "%%%02X", byte)
            }
        }
        return output
    }
}

/// RFC 7636 S256, with a SHA-256 of its own so the fake does not trust the daemon's.
enum PKCECheck {
    static func challenge(for verifier: String) -> String {
        base64URL(sha256(Array(verifier.utf8)))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func sha256(_ message: [UInt8]) -> [UInt8] {
        let k: [UInt32] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
            0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
            0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
            0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
            0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
            0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
            0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
        ]
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var data = message
        let bitLength = UInt64(message.count) * 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { data.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
        for chunk in stride(from: 0, to: data.count, by: 64) {
            var w = [UInt32](repeating: 0, count: 64)
            for i in 0..<16 {
                let b = chunk + i * 4
                w[i] = UInt32(data[b]) << 24 | UInt32(data[b + 1]) << 16 | UInt32(data[b + 2]) << 8 | UInt32(data[b + 3])
            }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for i in 0..<64 {
                let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                let ch = (e & f) ^ (~e & g)
                let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
                let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                let maj = (a & b) ^ (a & c) ^ (b & c)
                let t2 = s0 &+ maj
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d
            h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
        }
        return h.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> UInt32(24 - $0 * 8)) } }
    }
}
