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
/// A client that sends faster than it reads its answers is read no further while the
/// answers wait in the socket's write buffer: the daemon's memory stays bounded.
final class ImmediateAnswerHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = InboundRequest
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// `nil` for a peer of another uid: its input is dropped until the server closes it.
    private let peer: PeerIdentity?
    private let dispatcher: RequestDispatcher
    private var framer = LineFramer()
    private var answeredSinceFlush = false
    private var readWaitsForWritability = false

    init(peer: PeerIdentity?, dispatcher: RequestDispatcher) {
        self.peer = peer
        self.dispatcher = dispatcher
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let peer else { return }
        let chunk = unwrapInboundIn(data)
        for event in framer.append(chunk.readableBytesView) {
            switch event {
            case .line(let line):
                switch ClientMessage(line: line) {
                case .invalid(let response):
                    answer(response, context: context)
                case .notification:
                    continue  // Clients have no notifications to send; ignore them as JSON-RPC says.
                case .request(let request):
                    if let response = dispatcher.immediateResponse(to: request, peer: peer) {
                        answer(response, context: context)
                    } else {
                        context.fireChannelRead(wrapInboundOut(.request(request)))
                    }
                }
            case .oversizedLine:
                answer(JSONRPCResponse(id: nil, error: .lineTooLong), context: context)
                context.fireChannelRead(wrapInboundOut(.oversizedLine))
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // One flush per read, however many requests the read held (pipelined clients).
        if answeredSinceFlush {
            answeredSinceFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            readWaitsForWritability = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, readWaitsForWritability {
            readWaitsForWritability = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    private func answer(_ response: JSONRPCResponse, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: response.encodedLine())), promise: nil)
        answeredSinceFlush = true
    }
}
