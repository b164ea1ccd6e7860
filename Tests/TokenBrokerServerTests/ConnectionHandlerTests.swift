import NIOCore
import NIOEmbedded
import Testing
import TokenBrokerProtocol
@testable import TokenBrokerServer

/// A connection's handler on an `EmbeddedChannel` whose writability the test sets: what it
/// answers itself, what it hands to the request tasks, how it waits for a client that does
/// not read its answers, the cap on requests in flight, and when it closes.
@Suite(.timeLimit(.minutes(1))) struct ConnectionHandlerTests {
    /// What the handler handed to the request tasks, in order.
    final class Submitted {
        var requests: [WaitingRequest] = []
        var ids: [String] { requests.map { "request \($0.request.id)" } }
    }

    /// Answers `broker/info` itself (standing in for a cache hit); hands on the rest.
    static func handler(_ submitted: Submitted, cap: Int = 64) -> ConnectionHandler {
        ConnectionHandler(
            peer: PeerIdentity(uid: 1000, pid: 42, executable: nil),
            immediateResponse: { request, _ in
                request.method == .brokerInfo ? JSONRPCResponse(id: request.id, result: JSONValue.string("here")).encodedLine() : nil
            },
            submit: { submitted.requests.append($0) },
            requestsInFlightCap: cap)
    }

    /// An active channel (an `EmbeddedChannel` is inactive until connected), so closing shows.
    static func connected(_ handlers: [any ChannelHandler]) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handlers: handlers)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    static func bytes(_ lines: String...) -> ByteBuffer {
        ByteBuffer(string: lines.map { $0 + "\n" }.joined())
    }

    static let info = #"{"jsonrpc":"2.0","id":1,"method":"broker/info"}"#
    static let grants = #"{"jsonrpc":"2.0","id":2,"method":"grants/list"}"#
    static func grants(id: Int) -> String { #"{"jsonrpc":"2.0","id":\#(id),"method":"grants/list"}"# }

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

    @Test func answersWhatNeedsNoWaitingAndHandsOnTheRest() throws {
        let submitted = Submitted()
        let channel = EmbeddedChannel(handler: Self.handler(submitted))
        try channel.writeInbound(Self.bytes(Self.info, "not json", Self.grants, #"{"jsonrpc":"2.0","method":"x"}"#))
        let answers = try answers(channel)
        #expect(answers.count == 2)
        #expect(answers.first?.contains(#""result":"here""#) == true)
        #expect(answers.last?.contains("parse_error") == true)
        #expect(submitted.ids == ["request 2"])
        _ = try channel.finish()
    }

    @Test func aRequestTasksAnswerIsWrittenBack() throws {
        let submitted = Submitted()
        let channel = EmbeddedChannel(handler: Self.handler(submitted))
        try channel.writeInbound(Self.bytes(Self.grants))
        let waiting = try #require(submitted.requests.first)
        waiting.connection.send(notification: Array("{\"note\":1}\n".utf8))
        waiting.connection.finish(answer: Array("{\"answer\":2}\n".utf8))
        channel.embeddedEventLoop.run()
        #expect(try answers(channel) == [#"{"note":1}"#, #"{"answer":2}"#])
        _ = try channel.finish()
    }

    @Test func linesWaitWhileTheClientDoesNotReadItsAnswers() throws {
        let submitted = Submitted()
        let channel = EmbeddedChannel(handler: Self.handler(submitted))
        channel.isWritable = false
        try channel.writeInbound(Self.bytes(Self.info, Self.grants))
        channel.pipeline.fireChannelReadComplete()
        #expect(try answers(channel).isEmpty)
        #expect(submitted.ids.isEmpty)

        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(try answers(channel).count == 1)
        #expect(submitted.ids == ["request 2"])
        _ = try channel.finish()
    }

    /// The end of input waits for the lines before it, and the connection closes once
    /// their answers are written, not before.
    @Test func theEndOfInputWaitsForTheLinesAndAnswersBeforeIt() throws {
        let submitted = Submitted()
        let channel = try Self.connected([Self.handler(submitted)])
        channel.isWritable = false
        try channel.writeInbound(Self.bytes(Self.grants))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(submitted.ids.isEmpty)

        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        #expect(submitted.ids == ["request 2"])
        channel.embeddedEventLoop.run()
        #expect(channel.isActive)

        submitted.requests[0].connection.finish(answer: Array("{\"answer\":2}\n".utf8))
        channel.embeddedEventLoop.run()
        #expect(try answers(channel) == [#"{"answer":2}"#])
        #expect(!channel.isActive)
    }

    /// Past the cap of requests in flight, lines wait and the socket is not read until
    /// one is answered.
    @Test func atTheCapLinesWaitUntilARequestEnds() throws {
        let submitted = Submitted()
        let counter = ReadCounter()
        let channel = EmbeddedChannel(handlers: [counter, Self.handler(submitted, cap: 2)])
        try channel.writeInbound(Self.bytes(Self.grants(id: 1), Self.grants(id: 2), Self.grants(id: 3), Self.info))
        #expect(submitted.ids == ["request 1", "request 2"])
        #expect(try answers(channel).isEmpty)
        let reads = counter.reads
        channel.read()
        #expect(counter.reads == reads)

        submitted.requests[0].connection.finish(answer: nil)
        channel.embeddedEventLoop.run()
        #expect(submitted.ids == ["request 1", "request 2", "request 3"])
        #expect(counter.reads == reads)

        submitted.requests[1].connection.finish(answer: nil)
        channel.embeddedEventLoop.run()
        #expect(try answers(channel).count == 1)  // broker/info, after the cap let it through
        #expect(counter.reads == reads + 1)
        _ = try channel.finish()
    }

    @Test func theSocketIsReadNoFurtherUntilTheClientCatchesUp() throws {
        let counter = ReadCounter()
        let channel = EmbeddedChannel(handlers: [counter, Self.handler(Submitted())])
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

    @Test func anOversizedLineIsAnsweredAndEndsTheConnection() throws {
        let submitted = Submitted()
        let channel = try Self.connected([Self.handler(submitted)])
        #expect(channel.isActive)
        var huge = ByteBuffer(repeating: UInt8(ascii: "a"), count: BrokerProtocol.maximumLineLength + 1)
        huge.writeString("\n" + Self.grants + "\n")
        try channel.writeInbound(huge)
        channel.embeddedEventLoop.run()
        let answers = try answers(channel)
        #expect(answers.count == 1)
        #expect(answers.first?.contains("invalid_request") == true)
        #expect(submitted.ids.isEmpty)
        #expect(!channel.isActive)
    }

    /// A client gone entirely ends what its requests wait for.
    @Test func aClosedConnectionEndsItsRequests() async throws {
        let submitted = Submitted()
        let channel = EmbeddedChannel(handler: Self.handler(submitted))
        try channel.writeInbound(Self.bytes(Self.grants))
        let connection = try #require(submitted.requests.first).connection
        let (started, starting) = AsyncStream.makeStream(of: Void.self)
        // Nothing is ever sent on it: iterating it ends only when the request is cancelled.
        let (nothing, keepOpen) = AsyncStream.makeStream(of: Void.self)
        let waiting = Task {
            await connection.whileConnected {
                starting.finish()
                for await _ in nothing {}
                withExtendedLifetime(keepOpen) {}
                return "answered"
            }
        }
        for await _ in started {}
        _ = try channel.finish()
        #expect(await waiting.value == nil)
    }

    /// A closed connection's handler is freed, with what it held (it and its replies
    /// once held each other, and every connection leaked them).
    @Test func aClosedConnectionsHandlerIsFreed() throws {
        weak var freed: ConnectionHandler?
        do {
            let submitted = Submitted()
            let handler = Self.handler(submitted)
            freed = handler
            let channel = try Self.connected([handler])
            try channel.writeInbound(Self.bytes(Self.grants))
            submitted.requests[0].connection.finish(answer: nil)
            channel.embeddedEventLoop.run()
            _ = try channel.finish()
            submitted.requests.removeAll()
        }
        #expect(freed == nil)
    }
}
