internal import CTokenBrokerSystem
internal import Foundation
internal import Logging
internal import NIOCore
internal import NIOPosix
internal import ServiceLifecycle
internal import TokenBrokerProtocol

#if canImport(Glibc)
internal import Glibc
#endif

/// The Unix-domain socket clients talk to: newline-delimited JSON-RPC, served on the
/// event loop by one ``ConnectionHandler`` per connection (cache hits answered there), a
/// task only for a request that waits (so a slow sign-in never blocks the next line), and
/// only peers of our uid.
struct BrokerSocketServer: Service {
    let listener: any Channel
    let dispatcher: RequestDispatcher
    let limiter: ConnectionLimiter
    let logger: Logger
    /// The socket file we bound and remove on exit; `nil` for an adopted (systemd) socket.
    let ownedFile: OwnedSocketFile?
    /// Requests the connections' event loops could not answer, for ``run()``'s tasks.
    let waiting: AsyncStream<WaitingRequest>
    let waitingSink: AsyncStream<WaitingRequest>.Continuation

    /// Binds `path` with a 0700 directory and a 0600 socket.
    ///
    /// The socket is bound here and handed to NIO as a descriptor: NIO removes a Unix
    /// socket it bound itself by path when it closes, which would delete another
    /// daemon's socket put there meanwhile.
    static func bind(
        path: String, dispatcher: RequestDispatcher, limiter: ConnectionLimiter, logger: Logger
    ) async throws -> BrokerSocketServer {
        try SocketPlace.prepareDirectory(for: path)
        try SocketPlace.clearStaleSocket(at: path)
        let descriptor = try SocketPlace.bindListeningSocket(at: path)
        let ownedFile = OwnedSocketFile(path: path)
        do {
            return try await adopt(
                descriptor: descriptor, dispatcher: dispatcher, limiter: limiter, logger: logger, ownedFile: ownedFile)
        } catch {
            close(descriptor)
            ownedFile?.remove()
            throw error
        }
    }

    /// Adopts a listening socket: one systemd passed (`LISTEN_FDS`), or one ``bind(path:dispatcher:limiter:logger:)`` made.
    static func adopt(
        descriptor: Int32, dispatcher: RequestDispatcher, limiter: ConnectionLimiter, logger: Logger,
        ownedFile: OwnedSocketFile? = nil
    ) async throws -> BrokerSocketServer {
        // Unbounded, yet bounded by the cap on requests in flight per connection and on connections.
        let (waiting, waitingSink) = AsyncStream.makeStream(of: WaitingRequest.self)
        // Connections stay on the listener's event loop: handing each to another loop was
        // a cross-thread wake per connection, more than its cache hit costs.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let listener = try await ServerBootstrap(group: loop, childGroup: loop)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                accept(channel, dispatcher: dispatcher, limiter: limiter, logger: logger) { waitingSink.yield($0) }
            }
            .withBoundSocket(descriptor)
            .get()
        return BrokerSocketServer(
            listener: listener, dispatcher: dispatcher, limiter: limiter, logger: logger, ownedFile: ownedFile,
            waiting: waiting, waitingSink: waitingSink)
    }

    /// The first descriptor systemd passed to this process, if it did (sd_listen_fds(3)).
    static func inheritedDescriptor(environment: [String: String]) -> Int32? {
        guard let pid = environment["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
            let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1
        else { return nil }
        return 3
    }

    /// Serves the requests that wait until graceful shutdown or cancellation. On graceful
    /// shutdown the listener stops, the socket file is removed, every connection stops
    /// reading, and this returns once each has answered its requests in flight and closed
    /// (idle ones close at once). Cancelled, it closes every connection.
    func run() async {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    await whenClosed(listener)
                    removeSocketFile()
                    await endConnections()
                    waitingSink.finish()
                }
                for await request in waiting {
                    group.addTask { await serve(request) }
                }
            }
        } onGracefulShutdown: {
            listener.close(promise: nil)
        }
    }

    /// Closes the listener and removes the socket file, if ``run()`` did not (it was
    /// stopped before it started). Safe after it did: a file that is gone, or that another
    /// daemon made since, is left alone.
    func finish() async {
        try? await listener.close()
        removeSocketFile()
        for channel in limiter.stopAdmitting() { channel.close(promise: nil) }
        waitingSink.finish()
    }

    /// Removes the socket file we created, once no longer accepting.
    private func removeSocketFile() {
        ownedFile?.remove()
    }

    /// Stops every connection reading and waits until each has closed; cancelled, closes them.
    private func endConnections() async {
        let open = limiter.stopAdmitting()
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(ConnectionHandler.StopReading()) }
        for channel in open { await whenClosed(channel) }
    }

    /// Returns once `channel` is closed; closes it when the waiting task is cancelled
    /// (`closeFuture.get()` alone ignores cancellation).
    private func whenClosed(_ channel: any Channel) async {
        await withTaskCancellationHandler {
            try? await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Sets up a new connection on its event loop: a place under the cap, who the peer
    /// is, then the handler that serves it.
    private static func accept(
        _ channel: any Channel, dispatcher: RequestDispatcher, limiter: ConnectionLimiter, logger: Logger,
        submit: @escaping (WaitingRequest) -> Void
    ) -> EventLoopFuture<Void> {
        let id: Int
        switch limiter.admit(channel) {
        case .admitted(let admitted):
            id = admitted
        case .refused:
            logger.warning("refusing a connection: all are busy", metadata: ["connections": "\(limiter.capacity)"])
            let refusal = JSONRPCResponse(
                id: nil,
                error: RPCError(
                    reason: .internalError,
                    message: "tokenbrokerd has \(limiter.capacity) connections open, each waiting for an answer; try again shortly"))
            channel.writeAndFlush(ByteBuffer(bytes: refusal.encodedLine())).whenComplete { _ in channel.close(promise: nil) }
            return channel.eventLoop.makeSucceededVoidFuture()
        case .stopped:
            return channel.close()
        }
        channel.closeFuture.whenComplete { _ in limiter.remove(id) }
        return identify(channel, logger: logger).flatMapThrowing { peer in
            guard let peer else {
                channel.close(promise: nil)
                return
            }
            let activity = ConnectionActivity(
                onRead: { limiter.touch(id) },
                // A connection waiting for an answer (a sign-in, a refresh) is never the one closed at the cap.
                onRequestStarted: { limiter.requestStarted(id) },
                onRequestEnded: { limiter.requestEnded(id) },
                onGoneWithRequests: {
                    logger.debug("client went away; its requests were cancelled", metadata: ["pid": "\(peer.pid)"])
                })
            try channel.pipeline.syncOperations.addHandler(
                ConnectionHandler(
                    peer: peer, immediateResponse: dispatcher.immediateResponse(to:peer:), submit: submit, activity: activity))
        }
    }

    /// One request that waits, answered through its connection; cancelled when the client
    /// goes away (a sign-in it joined goes on).
    private func serve(_ waiting: WaitingRequest) async {
        let connection = waiting.connection
        let response = await connection.whileConnected { [dispatcher] in
            await dispatcher.respond(to: waiting.request, peer: waiting.peer) { notification in
                connection.send(notification: notification.encodedLine())
            }
        }
        connection.finish(answer: response?.encodedLine())
    }

    /// Requests one connection may have unanswered at once; past it the daemon stops
    /// reading that connection until an answer is written.
    static let requestsInFlightPerConnection = 64

    /// SO_PEERCRED: only our own uid is served; `nil` for anyone else.
    /// The peer's executable, for the audit log: one readlink(2) on the event loop, as
    /// every connection pays it (FileManager's path handling cost several times more).
    static func executablePath(of pid: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = "/proc/\(pid)/exe".withCString { path in readlink(path, &buffer, buffer.count - 1) }
        guard length > 0 else { return nil }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func identify(_ channel: any Channel, logger: Logger) -> EventLoopFuture<PeerIdentity?> {
        guard let provider = channel as? any SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
        let credentials: EventLoopFuture<tb_peer_credentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return credentials.map { credentials -> PeerIdentity? in
            guard credentials.uid == getuid() else {
                logger.warning("refusing a peer with a foreign uid", metadata: ["uid": "\(credentials.uid)", "pid": "\(credentials.pid)"])
                return nil
            }
            return PeerIdentity(uid: credentials.uid, pid: credentials.pid, executable: executablePath(of: credentials.pid))
        }.recover { error in
            logger.warning("could not read the peer's credentials; closing", metadata: ["error": "\(type(of: error))"])
            return nil
        }
    }
}
