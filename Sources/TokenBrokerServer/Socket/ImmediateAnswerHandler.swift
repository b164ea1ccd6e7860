internal import NIOCore
internal import TokenBrokerProtocol

/// What a connection's event loop hands to its request tasks.
enum InboundRequest: Sendable {
    /// A request that needs the broker's tasks: a sign-in, a refresh, the database.
    case request(JSONRPCRequest)
    /// The client sent a line over the limit (already answered): stop reading.
    case oversizedLine
}

/// Frames lines on the connection's event loop and answers there what needs no waiting:
/// a token held in memory, `broker/info`, and lines that are not requests.
///
/// A cache hit is most of what the daemon does, and handing it to a task and back costs
/// several thread hops, which were most of its latency. Everything else goes on, parsed,
/// to the connection's request tasks. Answers are whole lines, so they interleave with the
/// tasks' answers only between lines, in any order, as the protocol allows.
///
/// A client that sends faster than it reads its answers is served no further while the
/// answers wait in the socket's write buffer: lines already read wait here unhandled, and
/// the socket is read no further, so the daemon's memory stays bounded.
final class ImmediateAnswerHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = InboundRequest
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// `nil` for a peer of another uid: its input is dropped until the server closes it.
    private let peer: PeerIdentity?
    /// The answer to a request that needs no waiting, else `nil` (``RequestDispatcher/immediateResponse(to:peer:)``).
    private let immediateResponse: (JSONRPCRequest, PeerIdentity) -> JSONRPCResponse?
    private var framer = LineFramer()
    /// Lines read but not handled yet, because the client is not reading its answers.
    private var unhandled = CircularBuffer<LineFramer.Event>()
    private var answeredSinceFlush = false
    /// A read the pipeline asked for while lines waited or the channel was not writable.
    private var readHeld = false
    /// The client's end of input, held back until the lines before it are handled.
    private var inputClosedHeld = false

    /// Called for every read: the connection is not idle (``ConnectionLimiter``).
    private let onRead: () -> Void

    init(
        peer: PeerIdentity?, immediateResponse: @escaping (JSONRPCRequest, PeerIdentity) -> JSONRPCResponse?,
        onRead: @escaping () -> Void = {}
    ) {
        self.peer = peer
        self.immediateResponse = immediateResponse
        self.onRead = onRead
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard peer != nil else { return }
        onRead()
        unhandled.append(contentsOf: framer.append(unwrapInboundIn(data).readableBytesView))
        handleLines(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushAnswers(context: context)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let channelEvent = event as? ChannelEvent, channelEvent == .inputClosed, !unhandled.isEmpty {
            inputClosedHeld = true
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable, unhandled.isEmpty {
            context.read()
        } else {
            readHeld = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            if handleLines(context: context) { context.fireChannelReadComplete() }
            flushAnswers(context: context)
            if unhandled.isEmpty {
                if inputClosedHeld {
                    inputClosedHeld = false
                    context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
                }
                if readHeld {
                    readHeld = false
                    // From the tail, so the request tasks' own back-pressure still decides.
                    context.channel.read()
                }
            }
        }
        context.fireChannelWritabilityChanged()
    }

    /// Handles waiting lines while the client keeps up; `true` when some went on to the tasks.
    @discardableResult
    private func handleLines(context: ChannelHandlerContext) -> Bool {
        guard let peer else { return false }
        var forwarded = false
        while context.channel.isWritable, let event = unhandled.popFirst() {
            switch event {
            case .line(let line):
                switch ClientMessage(line: line) {
                case .invalid(let response):
                    answer(response, context: context)
                case .notification:
                    continue  // Clients have no notifications to send; ignore them as JSON-RPC says.
                case .request(let request):
                    if let response = immediateResponse(request, peer) {
                        answer(response, context: context)
                    } else {
                        context.fireChannelRead(wrapInboundOut(.request(request)))
                        forwarded = true
                    }
                }
            case .oversizedLine:
                answer(JSONRPCResponse(id: nil, error: .lineTooLong), context: context)
                context.fireChannelRead(wrapInboundOut(.oversizedLine))
                forwarded = true
            }
        }
        return forwarded
    }

    private func answer(_ response: JSONRPCResponse, context: ChannelHandlerContext) {
        // Written now, flushed once per read however many requests it held (pipelining).
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: response.encodedLine())), promise: nil)
        answeredSinceFlush = true
    }

    private func flushAnswers(context: ChannelHandlerContext) {
        guard answeredSinceFlush else { return }
        answeredSinceFlush = false
        context.flush()
    }
}
