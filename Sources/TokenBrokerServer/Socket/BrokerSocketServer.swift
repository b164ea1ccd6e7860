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

/// The Unix-domain socket clients talk to: newline-delimited JSON-RPC, cache hits answered
/// on the event loop, one task per other request so a slow sign-in never blocks the next
/// line, and only peers of our uid.
struct BrokerSocketServer: Service {
    /// A connection, with who is on the other end (`nil`: another uid, to be closed).
    struct Connection: Sendable {
        let channel: NIOAsyncChannel<InboundRequest, ByteBuffer>
        let peer: PeerIdentity?
        /// Its entry in the limiter; `nil` for a connection refused at the cap.
        let id: Int?
    }

    let listener: NIOAsyncChannel<Connection, Never>
    let dispatcher: RequestDispatcher
    let limiter: ConnectionLimiter
    let logger: Logger
    /// The socket file we bound and remove on exit; `nil` for an adopted (systemd) socket.
    let ownedFile: OwnedSocketFile?
    /// Connections accepted and not yet served, closed properly when the listener stops.
    let accepted: AcceptedChannels<Connection>

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
            let server = try await adopt(descriptor: descriptor, dispatcher: dispatcher, limiter: limiter, logger: logger)
            return BrokerSocketServer(
                listener: server.listener, dispatcher: dispatcher, limiter: limiter, logger: logger, ownedFile: ownedFile,
                accepted: server.accepted)
        } catch {
            close(descriptor)
            ownedFile?.remove()
            throw error
        }
    }

    /// Adopts a listening socket: one systemd passed (`LISTEN_FDS`), or one ``bind(path:dispatcher:limiter:logger:)`` made.
    static func adopt(
        descriptor: Int32, dispatcher: RequestDispatcher, limiter: ConnectionLimiter, logger: Logger
    ) async throws -> BrokerSocketServer {
        let accepted = AcceptedChannels<Connection> { connection in
            try? await connection.channel.executeThenClose { _, _ in }
        }
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(descriptor) { channel in
                accept(channel, dispatcher: dispatcher, limiter: limiter, logger: logger).map { connection in
                    accepted.add(connection, for: channel)
                    return connection
                }
            }
        return BrokerSocketServer(
            listener: listener, dispatcher: dispatcher, limiter: limiter, logger: logger, ownedFile: nil, accepted: accepted)
    }

    /// The first descriptor systemd passed to this process, if it did (sd_listen_fds(3)).
    static func inheritedDescriptor(environment: [String: String]) -> Int32? {
        guard let pid = environment["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
            let count = environment["LISTEN_FDS"].flatMap(Int.init), count >= 1
        else { return nil }
        return 3
    }

    /// Accepts connections until graceful shutdown or cancellation; then removes the
    /// socket file and returns once every connection has answered its requests in flight
    /// (idle connections end on graceful shutdown).
    func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                do {
                    try await listener.executeThenClose { connections in
                        for try await connection in connections {
                            accepted.take(connection.channel.channel)
                            group.addTask { await serve(connection) }
                        }
                    }
                } catch {
                    removeSocketFile()
                    await accepted.drain()
                    throw error
                }
                removeSocketFile()
                await accepted.drain()
                // The group now waits for the connections' requests in flight.
            }
        } onGracefulShutdown: {
            listener.channel.close(promise: nil)
        }
    }

    /// Closes the listener and removes the socket file, if ``run()`` did not (it was
    /// stopped before it started). Safe after it did: a file that is gone, or that another
    /// daemon made since, is left alone.
    func finish() async {
        try? await listener.channel.close()
        removeSocketFile()
    }

    /// Removes the socket file we created, once no longer accepting.
    private func removeSocketFile() {
        ownedFile?.remove()
    }

    /// Sets up a new connection on its event loop: a place under the cap, who the peer
    /// is, then the handler that answers cache hits there.
    private static func accept(
        _ channel: any Channel, dispatcher: RequestDispatcher, limiter: ConnectionLimiter, logger: Logger
    ) -> EventLoopFuture<Connection> {
        guard case .admitted(let id) = limiter.admit(channel) else {
            logger.warning("refusing a connection: all are busy", metadata: ["connections": "\(limiter.capacity)"])
            let refusal = JSONRPCResponse(
                id: nil,
                error: RPCError(
                    reason: .internalError,
                    message: "tokenbrokerd has \(limiter.capacity) connections open, each waiting for an answer; try again shortly"))
            channel.writeAndFlush(ByteBuffer(bytes: refusal.encodedLine())).whenComplete { _ in channel.close(promise: nil) }
            return channel.eventLoop.makeCompletedFuture {
                Connection(channel: try NIOAsyncChannel(wrappingChannelSynchronously: channel), peer: nil, id: nil)
            }
        }
        channel.closeFuture.whenComplete { _ in limiter.remove(id) }
        return identify(channel, logger: logger).flatMapThrowing { peer in
            try channel.pipeline.syncOperations.addHandler(
                ImmediateAnswerHandler(
                    peer: peer, immediateResponse: dispatcher.immediateResponse(to:peer:), onRead: { limiter.touch(id) }))
            return Connection(channel: try NIOAsyncChannel(wrappingChannelSynchronously: channel), peer: peer, id: id)
        }
    }

    /// One connection. Never throws: a broken client must not take the server down.
    ///
    /// Requests the event loop could not answer run concurrently and answer in any order
    /// through one writer. When the client half-closes (`socat` does after sending),
    /// answers still go out; when it goes away entirely, its requests are cancelled (a
    /// sign-in they joined goes on).
    private func serve(_ connection: Connection) async {
        guard let peer = connection.peer else {
            // Through the async channel, so its writer is finished (dropped unfinished, it traps).
            try? await connection.channel.executeThenClose { _, _ in }
            return
        }
        do {
            try await connection.channel.executeThenClose { inbound, outbound in
                let (lines, sink) = AsyncStream.makeStream(of: OutgoingLine.self)
                let permits = RequestPermits(Self.requestsInFlightPerConnection)
                let channel = connection.channel.channel
                let peerWentAway = try await withThrowingTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        for await line in lines {
                            try await outbound.write(ByteBuffer(bytes: line.bytes))
                            // A request's permit comes back once its answer is written, so a
                            // client that stops reading holds at most the cap in answers.
                            if line.endsRequest { permits.release() }
                        }
                        return false
                    }
                    group.addTask {
                        await withDiscardingTaskGroup { requests in
                            do {
                                // Graceful shutdown stops reading; requests in flight still answer.
                                reading: for try await inbound in inbound.cancelOnGracefulShutdown() {
                                    switch inbound {
                                    case .request(let request):
                                        // At the cap, stop reading until an answer is written.
                                        guard await permits.acquire() else { break reading }
                                        handle(request, peer: peer, connection: connection.id, sink: sink, requests: &requests)
                                    case .oversizedLine:
                                        break reading
                                    }
                                }
                            } catch {
                                logger.debug("read failed", metadata: ["error": "\(type(of: error))"])
                            }
                        }
                        sink.finish()
                        return false
                    }
                    // A client that goes away entirely (not one that only half-closed after
                    // sending) takes its requests with it: one waiting for a sign-in must not
                    // open the browser later for nobody.
                    // Through a stream, not `closeFuture.get()`: that wait ignores
                    // cancellation, and the group could then never end (the channel
                    // closes only after it).
                    let (closed, closing) = AsyncStream.makeStream(of: Never.self)
                    channel.closeFuture.whenComplete { _ in closing.finish() }
                    group.addTask {
                        for await _ in closed {}
                        return !Task.isCancelled
                    }
                    var finished = 0
                    while let gone = try await group.next() {
                        if gone {
                            group.cancelAll()
                            return true
                        }
                        finished += 1
                        if finished == 2 {
                            group.cancelAll()
                            return false
                        }
                    }
                    return false
                }
                if peerWentAway {
                    logger.debug("client went away; its requests were cancelled", metadata: ["pid": "\(peer.pid)"])
                    return
                }
                // Answers the event loop wrote may still wait in the channel's buffer, and
                // closing would drop them: the promise of one more, empty, write completes
                // once everything before it is written. A client that never reads them is
                // closed when the daemon's shutdown cancels this wait.
                try await withTaskCancellationHandler {
                    try await channel.writeAndFlush(ByteBuffer()).get()
                } onCancel: {
                    channel.close(promise: nil)
                }
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(type(of: error))"])
        }
    }

    private func handle(
        _ request: JSONRPCRequest, peer: PeerIdentity, connection: Int?, sink: AsyncStream<OutgoingLine>.Continuation,
        requests: inout DiscardingTaskGroup
    ) {
        let dispatcher = dispatcher
        let limiter = limiter
        // A connection waiting for an answer (a sign-in, a refresh) is never the one closed at the cap.
        if let connection { limiter.requestStarted(connection) }
        requests.addTask {
            let response = await dispatcher.respond(to: request, peer: peer) { notification in
                sink.yield(OutgoingLine(bytes: notification.encodedLine(), endsRequest: false))
            }
            sink.yield(OutgoingLine(bytes: response.encodedLine(), endsRequest: true))
            if let connection { limiter.requestEnded(connection) }
        }
    }

    /// Requests one connection may have unanswered at once; past it the daemon stops
    /// reading that connection until an answer is written.
    static let requestsInFlightPerConnection = 64

    /// A line for the client; a request's answer returns its permit once written.
    struct OutgoingLine: Sendable {
        var bytes: [UInt8]
        var endsRequest: Bool
    }

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
