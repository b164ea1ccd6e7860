internal import Logging
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import ServiceLifecycle
internal import TokenBrokerCore
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#endif

/// How the loopback callback guards itself: any local user can connect to a loopback
/// port, so only the daemon's own user is served, and no one can hold it busy.
package struct CallbackPolicy: Sendable {
    /// Connections whose socket another uid owns are refused before a byte is read.
    package var acceptedUID: UInt32
    /// The request (head, no body) must arrive within this many seconds of connecting.
    package var requestDeadline: Double
    /// The most connections open at once; more are closed at once.
    package var maximumConnections: Int

    /// The daemon's own uid, 10 seconds, 16 connections: a browser opens one or two.
    package init(acceptedUID: UInt32 = getuid(), requestDeadline: Double = 10, maximumConnections: Int = 16) {
        self.acceptedUID = acceptedUID
        self.requestDeadline = requestDeadline
        self.maximumConnections = maximumConnections
    }
}

/// The loopback listener that receives authorization responses (RFC 8252 §7.3) on
/// `http://127.0.0.1:<port>/callback`.
///
/// It hands the query to the sign-in waiting for that `state` (which checks it before
/// the code goes anywhere), waits for the code exchange to finish, and tells the person
/// whether they may close the tab. It serves nothing else, only the daemon's own user,
/// one GET without a body each.
struct CallbackServer: Service {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// A connection with the timer that closes it when its request is late.
    struct Accepted: Sendable {
        var connection: Connection
        var requestDeadline: Scheduled<Void>
        /// False past the connection cap: closed unread.
        var admitted: Bool
    }

    let listener: NIOAsyncChannel<Accepted, Never>
    let port: Int
    let registry: SignInRegistry
    let policy: CallbackPolicy
    let logger: Logger
    /// Connections accepted and not yet served, closed properly when the listener stops.
    let accepted: AcceptedChannels<Accepted>

    /// The shared redirect URI; dynamically registered clients get a path per issuer
    /// below it (``LoopbackRedirect``).
    var redirectURI: String { origin + LoopbackRedirect.sharedPath }

    /// `http://127.0.0.1:<port>`.
    var origin: String { "http://127.0.0.1:\(port)" }

    /// Binds `preferredPort` (kept stable because some servers match redirect URIs
    /// exactly, port included), or any free port when it is 0 or taken.
    static func bind(
        preferredPort: Int, registry: SignInRegistry, policy: CallbackPolicy = CallbackPolicy(), logger: Logger
    ) async throws -> CallbackServer {
        do {
            return try await bind(port: preferredPort, registry: registry, policy: policy, logger: logger)
        } catch where preferredPort != 0 {
            logger.warning("callback port taken; using another (clients registered with the old port register again)",
                           metadata: ["port": "\(preferredPort)"])
            return try await bind(port: 0, registry: registry, policy: policy, logger: logger)
        }
    }

    private static func bind(
        port: Int, registry: SignInRegistry, policy: CallbackPolicy, logger: Logger
    ) async throws -> CallbackServer {
        let open = ConnectionCount()
        let accepted = AcceptedChannels<Accepted> { accepted in
            accepted.requestDeadline.cancel()
            try? await closeUnread(accepted.connection)
        }
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: port) { channel in
                // Past the cap, or too slow with its request: closed, so idle connections
                // from anyone cannot use up the daemon's descriptors.
                // (Closed by the handler: the channel is not registered yet here.)
                let admitted = open.add() <= policy.maximumConnections
                channel.closeFuture.whenComplete { _ in open.remove() }
                let deadline = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(policy.requestDeadline * 1000))) {
                    channel.close(promise: nil)
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    let connection = Accepted(
                        connection: try Connection(wrappingChannelSynchronously: channel), requestDeadline: deadline,
                        admitted: admitted)
                    accepted.add(connection, for: channel)
                    return connection
                }
            }
        let boundPort = listener.channel.localAddress?.port ?? port
        return CallbackServer(
            listener: listener, port: boundPort, registry: registry, policy: policy, logger: logger, accepted: accepted)
    }

    /// Serves until graceful shutdown or cancellation.
    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                do {
                    try await listener.executeThenClose { connections in
                        for try await connection in connections {
                            accepted.take(connection.connection.channel)
                            group.addTask { await handle(connection) }
                        }
                    }
                } catch {
                    await accepted.drain()
                    throw error
                }
                await accepted.drain()
            }
        } onGracefulShutdown: {
            listener.channel.close(promise: nil)
        }
    }

    private func handle(_ accepted: Accepted) async {
        let connection = accepted.connection
        guard accepted.admitted else {
            logger.warning("refusing a callback connection: too many open", metadata: ["open": "\(policy.maximumConnections)"])
            accepted.requestDeadline.cancel()
            try? await Self.closeUnread(connection)
            return
        }
        guard isOwnUsers(connection.channel) else {
            try? await Self.closeUnread(connection)
            return
        }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var refusal: (HTTPResponseStatus, String)?
                for try await part in inbound {
                    switch part {
                    case .head(let requestHead):
                        head = requestHead
                        refusal = refusalBeforeBody(requestHead)
                    case .body:
                        // A sign-in response is a GET; nothing is read beyond its head.
                        refusal = refusal ?? (.badRequest, Self.page("Not accepted", "This address takes no request body."))
                    case .end:
                        accepted.requestDeadline.cancel()
                        guard let head else { return }
                        let (status, page) = if let refusal { refusal } else { await respond(to: head) }
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: "text/html; charset=utf-8")
                        headers.add(name: "Cache-Control", value: "no-store")
                        headers.add(name: "Connection", value: "close")
                        headers.add(name: "Content-Length", value: String(page.utf8.count))
                        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: status, headers: headers)))
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(string: page))))
                        try await outbound.write(.end(nil))
                        return
                    }
                }
            }
        } catch {
            logger.debug("callback connection ended", metadata: ["error": "\(type(of: error))"])
        }
    }

    /// Closes through the async channel, so its writer is finished (an async channel
    /// dropped unfinished traps).
    private static func closeUnread(_ connection: Connection) async throws {
        try await connection.executeThenClose { _, _ in }
    }

    /// True when the connecting socket is owned by ``CallbackPolicy/acceptedUID``.
    private func isOwnUsers(_ channel: any Channel) -> Bool {
        guard let peerPort = channel.remoteAddress?.port, let localPort = channel.localAddress?.port else { return false }
        let owner = LoopbackPeer.owner(peerPort: peerPort, localPort: localPort)
        guard owner == policy.acceptedUID else {
            logger.warning(
                "refusing a callback connection from another user",
                metadata: ["uid": "\(owner.map(String.init) ?? "unknown")"])
            return false
        }
        return true
    }

    /// What a request's head alone rules out: another method or path, a body, or a
    /// `Host` other than the redirect URI's (a page that rebinds a name to 127.0.0.1).
    private func refusalBeforeBody(_ head: HTTPRequestHead) -> (HTTPResponseStatus, String)? {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
        guard head.method == .GET, let path, LoopbackRedirect.isRedirectPath(path) else {
            return (.notFound, Self.page("Not found", "This address only receives sign-in responses."))
        }
        guard head.headers[canonicalForm: "Host"].map(String.init) == ["127.0.0.1:\(port)"] else {
            return (.badRequest, Self.page("Not accepted", "This address only answers requests for 127.0.0.1:\(port)."))
        }
        let length = head.headers.first(name: "Content-Length")
        guard length == nil || length == "0", !head.headers.contains(name: "Transfer-Encoding") else {
            return (.badRequest, Self.page("Not accepted", "This address takes no request body."))
        }
        return nil
    }

    private func respond(to head: HTTPRequestHead) async -> (HTTPResponseStatus, String) {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let query = parts.count > 1 ? String(parts[1]) : ""
        let state = FormURLEncoding.decode(query).first { $0.0 == "state" }?.1
        guard let state, let flight = registry.flight(state: state) else {
            return (.badRequest, Self.page(
                "Sign-in not recognised",
                "There is no sign-in in progress for this link; it may have expired or been used already. Start again from your application."))
        }
        // Each authorization server sends its responses to its own path: one on another
        // server's path is a mix-up (RFC 9700 §4.4), and its code goes nowhere.
        guard String(parts[0]) == flight.redirectPath else {
            logger.warning("refusing a sign-in response on another authorization server's path", metadata: ["resource": "\(flight.resource)"])
            return (.badRequest, Self.page(
                "Not accepted", "This sign-in response arrived at another authorization server's address; it is not used."))
        }
        // Unlike a paste (which can be cut short and is refused without ending the
        // sign-in), a response the browser brought with this sign-in's `state` but a
        // wrong or missing `iss` or no code ends it: RFC 9207 §2.4, the client MUST NOT
        // proceed with that grant. The sign-in checks it before the code goes anywhere.
        guard flight.callback.fulfill(query) else {
            return (.badRequest, Self.page("Already used", "That sign-in already received its response; it is not used twice."))
        }
        guard let outcome = await wait(for: flight.outcome, atMost: 60) else {
            return (.ok, Self.page("Still working", "The sign-in is taking long to complete. Your application will report the result."))
        }
        switch outcome {
        case .success:
            return (.ok, Self.page("Signed in", "tokenbroker has your authorization for \(Self.escape(flight.resource.string)). You may close this tab."))
        case .failure(let failure):
            return (.ok, Self.page("Sign-in failed", Self.escape(failure.message)))
        }
    }

    private static func page(_ title: String, _ message: String) -> String {
        """
        <!doctype html><html><head><meta charset="utf-8"><title>tokenbroker: \(title)</title></head>
        <body style="font-family: sans-serif; max-width: 36em; margin: 4em auto"><h1>\(title)</h1><p>\(message)</p></body></html>
        """
    }

    private static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "&": escaped += "&amp;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// Open callback connections, counted from the event loops that accept them.
private final class ConnectionCount: Sendable {
    private let count = Atomic<Int>(0)

    /// Counts one more; returns how many are open now.
    func add() -> Int { count.add(1, ordering: .relaxed).newValue }

    func remove() { count.subtract(1, ordering: .relaxed) }
}
