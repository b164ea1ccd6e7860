#if canImport(Glibc)
import Glibc
#endif
internal import Dispatch
public import TokenBrokerProtocol

/// A client of `tokenbrokerd`: asks it for access tokens for MCP servers, reports
/// challenges, lists and revokes grants.
///
/// Each call uses its own connection, so a client may make calls from many tasks at
/// once; a call waiting for a person to sign in does not hold up the others. While it
/// waits, an async call holds a thread of its own (not one of the concurrency pool's).
///
/// ```swift
/// try await withBrokerClient { broker in
///     let token = try await broker.token(for: "https://mcp.example.com/mcp", scopes: ["files:read"])
///     request.setValue("Bearer \(token.accessToken.exposedValue)", forHTTPHeaderField: "Authorization")
/// }
/// ```
public struct BrokerClient: Sendable {
    /// The daemon's socket.
    public let socketPath: String
    /// Sent as `application` with token requests, for `tokenbroker status` and the audit log.
    public var application: String?

    /// A client of the daemon at `socketPath`.
    public init(socketPath: String, application: String? = nil) {
        self.socketPath = socketPath
        self.application = application
    }

    /// A client of the daemon at the socket the daemon itself would use: `$TOKENBROKER_SOCKET`,
    /// `$XDG_RUNTIME_DIR/tokenbroker/socket`, or `/tmp/tokenbroker-$UID/socket`.
    public init(environment: [String: String], application: String? = nil) {
        self.init(
            socketPath: BrokerPaths.socket(flag: nil, environment: environment, userID: getuid()).path,
            application: application)
    }

    /// A client of the daemon at the socket the daemon itself would use, read from this
    /// process's environment.
    public init(application: String? = nil) {
        self.init(environment: Self.socketEnvironment, application: application)
    }

    /// The variables of this process's environment that decide where the socket is
    /// (`BrokerPaths.socketVariables`); read with `getenv`, not the whole environment.
    /// Without `XDG_RUNTIME_DIR` (a host that passes servers part of its environment),
    /// the login session's `/run/user/$UID`, as the daemon does.
    public static var socketEnvironment: [String: String] {
        var values: [String: String] = [:]
        for name in BrokerPaths.socketVariables {
            if let value = getenv(name) { values[name] = String(cString: value) }
        }
        guard values["TOKENBROKER_SOCKET"]?.isEmpty ?? true, values["XDG_RUNTIME_DIR"]?.hasPrefix("/") != true else {
            return values
        }
        return BrokerPaths.fillingRuntimeDirectory(values, with: BrokerPaths.loginRuntimeDirectory(userID: getuid()))
    }

    /// A token for `resource` covering `scopes`.
    ///
    /// - Parameters:
    ///   - resource: The MCP server URL.
    ///   - scopes: What this request needs; the daemon never asks for less than clients have needed.
    ///   - minValidSeconds: How long the token must stay valid (daemon default 30).
    ///   - interactive: Whether the daemon may start a browser sign-in and wait for it.
    ///   - waitSeconds: How long to wait for a person to sign in (daemon default 300).
    ///   - onAuthorizationPending: Called when a person must sign in, with the URL.
    public func token(
        for resource: String, scopes: [String] = [], minValidSeconds: Int? = nil, interactive: Bool = true,
        waitSeconds: Int? = nil, onAuthorizationPending: (@Sendable (AuthorizationPendingParams) -> Void)? = nil
    ) async throws(BrokerClientError) -> TokenGetResult {
        try await token(
            TokenGetParams(
                resource: resource, scopes: scopes, minValidSeconds: minValidSeconds ?? TokenGetParams.defaultMinValidSeconds,
                interactive: interactive, waitSeconds: waitSeconds ?? TokenGetParams.defaultWaitSeconds,
                application: application),
            onAuthorizationPending: onAuthorizationPending)
    }

    /// A new token after the MCP server refused one with 401 or 403.
    ///
    /// - Parameters:
    ///   - resource: The MCP server URL.
    ///   - challenge: The `WWW-Authenticate` value(s) of the response, several lines joined with `", "`.
    ///   - status: 401 or 403.
    ///   - rejectedToken: The access token the server refused.
    ///   - scopes: What the refused request needed, when the client knows.
    ///   - interactive: Whether the daemon may start a browser sign-in and wait for it.
    ///   - waitSeconds: How long to wait for a person to sign in (daemon default 300).
    ///   - onAuthorizationPending: Called when a person must sign in, with the URL.
    public func token(
        for resource: String, afterChallenge challenge: String, status: Int, rejectedToken: String?,
        scopes: [String] = [], interactive: Bool = true, waitSeconds: Int? = nil,
        onAuthorizationPending: (@Sendable (AuthorizationPendingParams) -> Void)? = nil
    ) async throws(BrokerClientError) -> TokenGetResult {
        try await token(
            TokenGetParams(
                resource: resource, scopes: scopes, challenge: challenge, status: status,
                rejectedToken: rejectedToken.map(AccessToken.init), interactive: interactive,
                waitSeconds: waitSeconds ?? TokenGetParams.defaultWaitSeconds, application: application),
            onAuthorizationPending: onAuthorizationPending)
    }

    /// `token/get` with every parameter.
    public func token(
        _ params: TokenGetParams, onAuthorizationPending: (@Sendable (AuthorizationPendingParams) -> Void)? = nil
    ) async throws(BrokerClientError) -> TokenGetResult {
        try await call(JSONRPCRequest(id: 1, method: .tokenGet, params: params), onAuthorizationPending)
    }

    /// Finishes a waiting sign-in with the address the person's browser was sent back to.
    ///
    /// For a browser on another machine than the daemon's (over SSH), which cannot reach
    /// the daemon's loopback callback: show the URL from `onAuthorizationPending`, ask the
    /// person to paste the address the browser ended on, and pass it here. The waiting
    /// `token` call then returns as if the browser had reached the daemon.
    ///
    /// - Parameter redirectURL: The whole address, `http://127.0.0.1:…/callback?code=…&state=…`.
    /// - Returns: The resource, issuer and granted scopes of the finished sign-in.
    /// - Throws: ``BrokerClientError`` whose ``BrokerClientError/reason`` is
    ///   `authorization_failed` when no sign-in waits for that address or the authorization
    ///   server refused, `invalid_params` when it is no sign-in response.
    public func completeAuthorization(redirectURL: String) async throws(BrokerClientError) -> AuthorizationCompleteResult {
        try await call(
            JSONRPCRequest(
                id: 1, method: .authorizationComplete, params: AuthorizationCompleteParams(redirectURL: redirectURL)),
            nil)
    }

    /// Every grant the daemon holds (no secrets), all pages collected.
    ///
    /// With thousands of grants, prefer ``grantSummaries(matching:)``, which hands them
    /// out a page at a time.
    public func grants() async throws(BrokerClientError) -> [GrantSummary] {
        var all: [GrantSummary] = []
        var params = GrantsListParams(limit: GrantsListParams.maximumLimit)
        repeat {
            let page = try await grants(params)
            all += page.grants
            params.cursor = page.nextCursor
        } while params.cursor != nil
        return all
    }

    /// One page of `grants/list`: pass the result's `nextCursor` as the next `cursor`.
    public func grants(_ params: GrantsListParams) async throws(BrokerClientError) -> GrantsListResult {
        try await call(JSONRPCRequest(id: 1, method: .grantsList, params: params), nil)
    }

    /// The grants matching `params`' filters, fetched a page at a time as they are consumed.
    public func grantSummaries(matching params: GrantsListParams = GrantsListParams()) -> GrantSummaries {
        GrantSummaries(client: self, first: params)
    }

    /// Revokes the grant of `resource` at its authorization server and locally.
    public func revoke(resource: String) async throws(BrokerClientError) -> [RevokedGrant] {
        let result: GrantsRevokeResult = try await call(
            JSONRPCRequest(id: 1, method: .grantsRevoke, params: GrantsRevokeParams.resource(resource)), nil)
        return result.revoked
    }

    /// Revokes every grant.
    public func revokeAll() async throws(BrokerClientError) -> [RevokedGrant] {
        let result: GrantsRevokeResult = try await call(
            JSONRPCRequest(id: 1, method: .grantsRevoke, params: GrantsRevokeParams.all), nil)
        return result.revoked
    }

    /// The daemon's version, pid and paths.
    public func info() async throws(BrokerClientError) -> BrokerInfo {
        try await call(JSONRPCRequest(id: 1, method: .brokerInfo), nil)
    }

    /// The same call, blocking the calling thread: for command-line tools that make one
    /// call and exit, where starting the concurrency runtime would cost more than the call.
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - onAuthorizationPending: Called when a person must sign in, with the URL.
    ///   - whileWaiting: Called about once a second until the answer arrives (a progress
    ///     indicator while a person signs in).
    public func callBlocking<Result: JSONValueConvertible>(
        _ request: JSONRPCRequest, onAuthorizationPending: ((AuthorizationPendingParams) -> Void)? = nil,
        whileWaiting: (() -> Void)? = nil
    ) throws(BrokerClientError) -> Result {
        let connection = try SocketConnection(path: socketPath)
        let response = try connection.call(request, whileWaiting: whileWaiting) { notification in
            if notification.method == .authorizationPending,
                let params = try? AuthorizationPendingParams(params: notification.params)
            {
                onAuthorizationPending?(params)
            }
        }
        return try Self.decode(response)
    }

    private func call<Result: JSONValueConvertible>(
        _ request: JSONRPCRequest, _ onAuthorizationPending: (@Sendable (AuthorizationPendingParams) -> Void)?
    ) async throws(BrokerClientError) -> Result {
        let connection = try SocketConnection(path: socketPath)
        let outcome: Swift.Result<Result, BrokerClientError> = await withTaskCancellationHandler {
            // Blocking reads run off the cooperative pool: a sign-in may take minutes. Each
            // call gets its own serial queue, which libdispatch backs with a thread of its
            // own (serial queues overcommit); on the global queue, as many waiting calls as
            // there are cores would hold up every other call until the pool grew.
            await withCheckedContinuation { continuation in
                DispatchQueue(label: "TokenBrokerClient.call").async {
                    do throws(BrokerClientError) {
                        let response = try connection.call(request) { notification in
                            if notification.method == .authorizationPending,
                                let params = try? AuthorizationPendingParams(params: notification.params)
                            {
                                onAuthorizationPending?(params)
                            }
                        }
                        continuation.resume(returning: .success(try Self.decode(response)))
                    } catch {
                        continuation.resume(returning: .failure(error))
                    }
                }
            }
        } onCancel: {
            connection.interrupt()
        }
        return try outcome.get()
    }

    private static func decode<Result: JSONValueConvertible>(_ response: JSONRPCResponse) throws(BrokerClientError) -> Result {
        switch response.outcome {
        case .failure(let error):
            throw .rpc(error)
        case .success(let value):
            do {
                return try Result(jsonValue: value)
            } catch {
                throw .protocolViolation("\(error)")
            }
        }
    }
}

/// Runs `body` with a client of the daemon, as AsyncHTTPClient's `withHTTPClient` does.
///
/// ```swift
/// let token = try await withBrokerClient { try await $0.token(for: "https://mcp.example.com/mcp") }
/// ```
///
/// - Parameters:
///   - socketPath: The socket; by default the one the daemon resolves from the environment.
///   - environment: Where `TOKENBROKER_SOCKET` and `XDG_RUNTIME_DIR` are read; by default
///     this process's environment.
///   - application: A name for this client, shown in status and the audit log.
///   - body: What to do with the client; its result is returned.
public func withBrokerClient<Result>(
    socketPath: String? = nil, environment: [String: String]? = nil, application: String? = nil,
    _ body: (BrokerClient) async throws -> Result
) async rethrows -> Result {
    let client =
        socketPath.map { BrokerClient(socketPath: $0, application: application) }
        ?? BrokerClient(environment: environment ?? BrokerClient.socketEnvironment, application: application)
    return try await body(client)
}

/// The daemon's grants as an asynchronous sequence, one `grants/list` page per fetch.
public struct GrantSummaries: AsyncSequence, Sendable {
    public typealias Element = GrantSummary
    public typealias Failure = BrokerClientError

    let client: BrokerClient
    let first: GrantsListParams

    /// Starts at the first page.
    public func makeAsyncIterator() -> Iterator {
        Iterator(client: client, next: first)
    }

    /// Hands out one page's grants, then fetches the next.
    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = GrantSummary
        public typealias Failure = BrokerClientError

        let client: BrokerClient
        var next: GrantsListParams?
        var buffered: [GrantSummary] = []

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(BrokerClientError) -> GrantSummary? {
            while buffered.isEmpty {
                guard let params = next else { return nil }
                let page = try await client.grants(params)
                buffered = page.grants.reversed()
                next = page.nextCursor.map { cursor in
                    var following = params
                    following.cursor = cursor
                    return following
                }
            }
            return buffered.popLast()
        }

        public mutating func next() async throws(BrokerClientError) -> GrantSummary? {
            try await next(isolation: nil)
        }
    }
}
