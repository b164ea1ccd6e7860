import NIOCore
import NIOEmbedded
import Testing
import TokenBrokerProtocol
@testable import TokenBrokerServer

/// The event-loop half of a connection, on an `EmbeddedChannel` whose writability the test
/// sets: what it answers itself, what it passes on, and how it waits for a client that
/// does not read its answers.
@Suite struct ImmediateAnswerHandlerTests {
    /// Answers `broker/info` itself (standing in for a cache hit); passes on the rest.
    static func handler() -> ImmediateAnswerHandler {
        ImmediateAnswerHandler(peer: PeerIdentity(uid: 1000, pid: 42, executable: nil)) { request, _ in
            request.method == .brokerInfo ? JSONRPCResponse(id: request.id, result: JSONValue.string("here")) : nil
        }
    }

    static func bytes(_ lines: String...) -> ByteBuffer {
        ByteBuffer(string: lines.map { $0 + "\n" }.joined())
    }

    static let info = #"{"jsonrpc":"2.0","id":1,"method":"broker/info"}"#
    static let grants = #"{"jsonrpc":"2.0","id":2,"method":"grants/list"}"#

    /// What the handler passed on, and the reads and events around it, in order.
    final class Downstream: ChannelInboundHandler {
        typealias InboundIn = InboundRequest
        var seen: [String] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .request(let request): seen.append("request \(request.id)")
            case .oversizedLine: seen.append("oversized")
            }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? ChannelEvent, event == .inputClosed { seen.append("input closed") }
        }
    }

    /// Counts the reads that reach the socket.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var reads = 0

        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    func answers(_ channel: EmbeddedChannel) throws -> [String] {
        var lines: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            lines += String(buffer: buffer).split(separator: "\n").map(String.init)
        }
        return lines
    }

    @Test func answersWhatNeedsNoWaitingAndPassesOnTheRest() throws {
        let downstream = Downstream()
        let channel = EmbeddedChannel(handlers: [Self.handler(), downstream])
        try channel.writeInbound(Self.bytes(Self.info, "not json", Self.grants, #"{"jsonrpc":"2.0","method":"x"}"#))
        let answers = try answers(channel)
        #expect(answers.count == 2)
        #expect(answers.first?.contains(#""result":"here""#) == true)
        #expect(answers.last?.contains("parse_error") == true)
        #expect(downstream.seen == ["request 2"])
        _ = try channel.finish()
    }

    @Test func linesWaitWhileTheClientDoesNotReadItsAnswers() throws {
        let downstream = Downstream()
        let channel = EmbeddedChannel(handlers: [Self.handler(), downstream])
        channel.isWritable = false
        try channel.writeInbound(Self.bytes(Self.info, Self.grants))
        channel.pipeline.fireChannelReadComplete()
        #expect(try answers(channel).isEmpty)
        #expect(downstream.seen.isEmpty)

        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(try answers(channel).count == 1)
        #expect(downstream.seen == ["request 2"])
        _ = try channel.finish()
    }

    @Test func theEndOfInputWaitsForTheLinesBeforeIt() throws {
        let downstream = Downstream()
        let channel = EmbeddedChannel(handlers: [Self.handler(), downstream])
        channel.isWritable = false
        try channel.writeInbound(Self.bytes(Self.grants))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(downstream.seen.isEmpty)

        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(downstream.seen == ["request 2", "input closed"])
        _ = try channel.finish()
    }

    @Test func theSocketIsReadNoFurtherUntilTheClientCatchesUp() throws {
        let counter = ReadCounter()
        let channel = EmbeddedChannel(handlers: [counter, Self.handler(), Downstream()])
        channel.read()
        #expect(counter.reads == 1)

        channel.isWritable = false
        channel.read()
        #expect(counter.reads == 1)

        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(counter.reads == 2)
        _ = try channel.finish()
    }

    @Test func anOversizedLineIsAnsweredAndEndsReading() throws {
        let downstream = Downstream()
        let channel = EmbeddedChannel(handlers: [Self.handler(), downstream])
        var huge = ByteBuffer(repeating: UInt8(ascii: "a"), count: BrokerProtocol.maximumLineLength + 1)
        huge.writeString("\n" + Self.info + "\n")
        try channel.writeInbound(huge)
        let answers = try answers(channel)
        #expect(answers.count == 1)
        #expect(answers.first?.contains("invalid_request") == true)
        #expect(downstream.seen == ["oversized"])
        _ = try channel.finish()
    }
}
