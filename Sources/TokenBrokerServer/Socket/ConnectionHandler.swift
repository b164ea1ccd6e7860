internal import NIOCore
internal import Synchronization
internal import TokenBrokerProtocol

/// A request the event loop could not answer, on its way to the server's request tasks.
struct WaitingRequest: Sendable {
    let request: JSONRPCRequest
    let peer: PeerIdentity
    /// The way back to the connection it came on.
    let connection: ConnectionReplies
}

/// Serves one client connection on its event loop: frames lines, answers there what needs
/// no waiting (a token held in memory, `broker/info`, lines that are not requests), and
/// hands the rest to the server's request tasks, whose answers it writes back.
///
/// A connection is no task of its own: a cache hit is most of what the daemon does, and a
/// task per connection (with its streams and task group) cost more than the answer itself
/// on every new connection. Only a request that waits (a sign-in, a refresh, the
/// database) becomes a task. Answers are whole lines, so they interleave only between
/// lines, in any order, as the protocol allows.
///
/// Bounds: at most ``BrokerSocketServer/requestsInFlightPerConnection`` requests of a
/// connection wait at once; past it, and while the client does not read its answers (the
/// channel is not writable), lines already read wait here unhandled and the socket is read
/// no further, so the daemon's memory stays bounded.
///
/// The connection ends once reading has ended (the client's end of input, an oversized
/// line, the daemon's graceful shutdown) and every request in flight is answered. A client
/// that goes away entirely takes its requests with it: they are cancelled.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Sent down a connection's pipeline by the server's graceful shutdown: read no more,
    /// answer what is in flight, then close.
    struct StopReading: Sendable {}

    private let peer: PeerIdentity
    /// The answer (its line) to a request that needs no waiting, else `nil` (``RequestDispatcher/immediateResponse(to:peer:)``).
    private let immediateResponse: (JSONRPCRequest, PeerIdentity) -> [UInt8]?
    /// Hands a request to the server's request tasks.
    private let submit: (WaitingRequest) -> Void
    private let activity: ConnectionActivity
    private let requestsInFlightCap: Int

    private var framer = LineFramer()
    /// Lines read but not handled yet: the client is not reading its answers, or the cap is reached.
    private var unhandled = CircularBuffer<LineFramer.Event>()
    private var answeredSinceFlush = false
    /// A read the pipeline asked for while lines waited, the cap was reached or the channel was not writable.
    private var readHeld = false
    /// The client's end of input, held back until the lines before it are handled.
    private var inputClosedHeld = false
    /// No more lines are handled: the end of input, an oversized line, or a graceful shutdown.
    private var readingEnded = false
    private var closing = false
    private var requestsInFlight = 0
    private var context: ChannelHandlerContext?
    private var replies: ConnectionReplies?

    init(
        peer: PeerIdentity,
        immediateResponse: @escaping (JSONRPCRequest, PeerIdentity) -> [UInt8]?,
        submit: @escaping (WaitingRequest) -> Void,
        activity: ConnectionActivity = ConnectionActivity(),
        requestsInFlightCap: Int = BrokerSocketServer.requestsInFlightPerConnection
    ) {
        self.peer = peer
        self.immediateResponse = immediateResponse
        self.submit = submit
        self.activity = activity
        self.requestsInFlightCap = requestsInFlightCap
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        replies = ConnectionReplies(handler: NIOLoopBound(self, eventLoop: context.eventLoop))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        // The replies hold this handler for the request tasks: let go of each other.
        replies = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !readingEnded else { return }
        activity.onRead()
        unhandled.append(contentsOf: framer.append(unwrapInboundIn(data).readableBytesView))
        handleLines(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushAnswers(context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed {
            if unhandled.isEmpty {
                endReading(context: context)
            } else {
                inputClosedHeld = true
            }
        } else if event is StopReading {
            endReading(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if requestsInFlight > 0 { activity.onGoneWithRequests() }
        replies?.connectionClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset or a failed write: nothing more can reach this client.
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if mayHandleLines(context: context), unhandled.isEmpty {
            context.read()
        } else {
            readHeld = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { resume(context: context) }
        context.fireChannelWritabilityChanged()
    }

    /// An answer or notification from a request task, on the event loop.
    fileprivate func deliver(_ line: [UInt8]?, endsRequest: Bool) {
        guard let context else { return }
        if let line {
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: line)), promise: nil)
        }
        guard endsRequest else { return }
        requestsInFlight -= 1
        activity.onRequestEnded()
        resume(context: context)
    }

    private func mayHandleLines(context: ChannelHandlerContext) -> Bool {
        !readingEnded && context.channel.isWritable && requestsInFlight < requestsInFlightCap
    }

    /// Handles what waited, and reads again if a read was held, once the client caught up
    /// or a request ended.
    private func resume(context: ChannelHandlerContext) {
        handleLines(context: context)
        flushAnswers(context: context)
        if readHeld, mayHandleLines(context: context), unhandled.isEmpty {
            readHeld = false
            context.read()
        }
        closeIfDone(context: context)
    }

    /// Handles waiting lines while the client keeps up and the cap allows.
    private func handleLines(context: ChannelHandlerContext) {
        while mayHandleLines(context: context), let event = unhandled.popFirst() {
            switch event {
            case .line(let line):
                switch ClientMessage(line: line) {
                case .invalid(let response):
                    answer(response.encodedLine(), context: context)
                case .notification:
                    continue  // Clients have no notifications to send; ignore them as JSON-RPC says.
                case .request(let request):
                    if let line = immediateResponse(request, peer) {
                        answer(line, context: context)
                    } else if let replies {
                        requestsInFlight += 1
                        activity.onRequestStarted()
                        submit(WaitingRequest(request: request, peer: peer, connection: replies))
                    }
                }
            case .oversizedLine:
                answer(JSONRPCResponse(id: nil, error: .lineTooLong).encodedLine(), context: context)
                endReading(context: context)
            }
        }
        if unhandled.isEmpty, inputClosedHeld {
            inputClosedHeld = false
            endReading(context: context)
        }
    }

    private func endReading(context: ChannelHandlerContext) {
        readingEnded = true
        unhandled.removeAll()
        closeIfDone(context: context)
    }

    /// Closes once reading has ended and every request is answered, after the answers
    /// still in the channel's buffer are written (closing would drop them). A client that
    /// never reads them is closed by the daemon's shutdown.
    private func closeIfDone(context: ChannelHandlerContext) {
        guard readingEnded, requestsInFlight == 0, !closing else { return }
        closing = true
        answeredSinceFlush = false
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    private func answer(_ line: [UInt8], context: ChannelHandlerContext) {
        // Written now, flushed once per read however many requests it held (pipelining).
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: line)), promise: nil)
        answeredSinceFlush = true
    }

    private func flushAnswers(context: ChannelHandlerContext) {
        guard answeredSinceFlush else { return }
        answeredSinceFlush = false
        context.flush()
    }
}

/// What a connection tells the ``ConnectionLimiter`` (and the log), as it happens.
struct ConnectionActivity {
    /// The client sent something.
    var onRead: () -> Void = {}
    /// A request went to the request tasks.
    var onRequestStarted: () -> Void = {}
    /// That request was answered.
    var onRequestEnded: () -> Void = {}
    /// The client went away with requests in flight (they are cancelled).
    var onGoneWithRequests: () -> Void = {}
}

/// The way back from a request task to its connection: lines are written on the
/// connection's event loop, and the request is cancelled once the client is gone.
final class ConnectionReplies: Sendable {
    private let handler: NIOLoopBound<ConnectionHandler>

    private struct State {
        var isClosed = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    fileprivate init(handler: NIOLoopBound<ConnectionHandler>) {
        self.handler = handler
    }

    /// Writes a notification for the client.
    func send(notification line: [UInt8]) {
        hop(line, endsRequest: false)
    }

    /// Writes a request's answer (`nil`: it has none, the client is gone) and ends the request.
    func finish(answer line: [UInt8]?) {
        hop(line, endsRequest: true)
    }

    private func hop(_ line: [UInt8]?, endsRequest: Bool) {
        let handler = handler
        handler.eventLoop.execute { handler.value.deliver(line, endsRequest: endsRequest) }
    }

    /// Runs `body` while the client is connected: once it goes away, `body` is cancelled
    /// (a request waiting for a sign-in must not open the browser later for nobody) and
    /// the result is `nil`.
    func whileConnected<Result: Sendable>(_ body: @escaping @Sendable () async -> Result) async -> Result? {
        await withTaskGroup(of: Result?.self) { group in
            group.addTask { await body() }
            group.addTask {
                await self.closed()
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Returns once the connection is closed, or the waiting task is cancelled.
    private func closed() async {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.isClosed || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// The connection closed: whatever waits on it ends.
    fileprivate func connectionClosed() {
        let waiters = state.withLock { state in
            state.isClosed = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }
}
