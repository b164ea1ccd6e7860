internal import Logging
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import ServiceLifecycle
internal import TokenBrokerCore

/// The loopback listener that receives authorization responses (RFC 8252 §7.3) on
/// `http://127.0.0.1:<port>/callback`.
///
/// It hands the query to the sign-in waiting for that `state`, waits for the code
/// exchange to finish, and tells the person whether they may close the tab. It serves
/// nothing else.
struct CallbackServer: Service {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    let listener: NIOAsyncChannel<Connection, Never>
    let port: Int
    let registry: SignInRegistry
    let logger: Logger

    static let path = "/callback"

    var redirectURI: String { "http://127.0.0.1:\(port)\(Self.path)" }

    /// Binds `preferredPort` (kept stable because some servers match redirect URIs
    /// exactly, port included), or any free port when it is 0 or taken.
    static func bind(preferredPort: Int, registry: SignInRegistry, logger: Logger) async throws -> CallbackServer {
        do {
            return try await bind(port: preferredPort, registry: registry, logger: logger)
        } catch where preferredPort != 0 {
            logger.warning("callback port taken; using another (clients registered with the old port register again)",
                           metadata: ["port": "\(preferredPort)"])
            return try await bind(port: 0, registry: registry, logger: logger)
        }
    }

    private static func bind(port: Int, registry: SignInRegistry, logger: Logger) async throws -> CallbackServer {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        let boundPort = listener.channel.localAddress?.port ?? port
        return CallbackServer(listener: listener, port: boundPort, registry: registry, logger: logger)
    }

    /// Serves until graceful shutdown or cancellation.
    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await listener.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await handle(connection) }
                    }
                }
            }
        } onGracefulShutdown: {
            listener.channel.close(promise: nil)
        }
    }

    private func handle(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let requestHead):
                        head = requestHead
                    case .body:
                        continue
                    case .end:
                        guard let head else { return }
                        let (status, page) = await respond(to: head)
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

    private func respond(to head: HTTPRequestHead) async -> (HTTPResponseStatus, String) {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard head.method == .GET, parts.first.map(String.init) == Self.path else {
            return (.notFound, Self.page("Not found", "This address only receives sign-in responses."))
        }
        let query = parts.count > 1 ? String(parts[1]) : ""
        let state = FormURLEncoding.decode(query).first { $0.0 == "state" }?.1
        guard let state, let flight = registry.flight(state: state) else {
            return (.badRequest, Self.page(
                "Sign-in not recognised",
                "There is no sign-in in progress for this link; it may have expired or been used already. Start again from your application."))
        }
        flight.callback.fulfill(query)
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
