import Testing

@testable import TokenBrokerBridge

/// The WHATWG event-stream format (HTML §9.2), with the standard's own examples.
@Suite struct EventStreamParserTests {
    private func events(_ text: String, chunkSize: Int? = nil) throws -> [ServerSentEvent] {
        var parser = EventStreamParser()
        let bytes = Array(text.utf8)
        guard let chunkSize else { return try parser.append(bytes) }
        var events: [ServerSentEvent] = []
        for start in stride(from: 0, to: bytes.count, by: chunkSize) {
            events += try parser.append(bytes[start..<min(start + chunkSize, bytes.count)])
        }
        return events
    }

    private func data(_ events: [ServerSentEvent]) -> [String] {
        events.map { String(decoding: $0.data, as: UTF8.self) }
    }

    /// "data: YHOO / data: +2 / data: 10": one event, the lines joined with LF.
    @Test func dataLinesJoinWithLineFeeds() throws {
        let parsed = try events("data: YHOO\ndata: +2\ndata: 10\n\n")
        #expect(data(parsed) == ["YHOO\n+2\n10"])
        #expect(parsed[0].type == "message")
    }

    /// The standard's four-block example: a comment, ids carried and reset, and a final
    /// block without its blank line, which is never dispatched.
    @Test func idsCarryOverAndAnUnfinishedEventIsDropped() throws {
        let parsed = try events(": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n")
        #expect(data(parsed) == ["first event", "second event"])
        #expect(parsed.map(\.lastEventID) == ["1", ""])
    }

    /// "data" with no colon is an empty data line; two of them make one LF.
    @Test func emptyDataLines() throws {
        #expect(data(try events("data\n\ndata\ndata\n\ndata:")) == ["", "\n"])
    }

    /// At most one space after the colon is removed.
    @Test func oneSpaceAfterTheColonIsRemoved() throws {
        #expect(data(try events("data:test\n\ndata: test\n\ndata:  test\n\n")) == ["test", "test", " test"])
    }

    /// CR, LF and CRLF end lines alike, however the chunks fall, CRLF split included.
    @Test(arguments: [1, 2, 3, 7, 1000])
    func everyLineEndingInAnyChunking(chunkSize: Int) throws {
        let text = "event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\rdata: 3\n\n"
        let parsed = try events(text, chunkSize: chunkSize)
        #expect(data(parsed) == ["1", "2", "3"])
        #expect(parsed.map(\.type) == ["a", "b", "message"])
    }

    /// A leading byte-order mark is dropped once; later it is part of the line.
    @Test func aLeadingByteOrderMarkIsDropped() throws {
        #expect(data(try events("\u{FEFF}data: x\n\n")) == ["x"])
        #expect(data(try events("data: x\n\n\u{FEFF}data: y\n\n")) == ["x"])
    }

    /// `retry` only when all digits; an `id` with NUL is ignored; unknown fields are ignored.
    @Test func retryIdAndUnknownFields() throws {
        var parser = EventStreamParser()
        _ = try parser.append(Array("retry: 2500\nretry: 1x\nid: 7\nid: a\u{0}b\nfoo: bar\ndata: z\n\n".utf8))
        #expect(parser.reconnectionTime == 2500)
        #expect(parser.lastEventID == "7")
    }

    /// An event with no data is not dispatched, but its id is kept (a priming event).
    @Test func anEventWithoutDataOnlySetsTheId() throws {
        var parser = EventStreamParser()
        #expect(try parser.append(Array("id: 42\n\n".utf8)).isEmpty)
        #expect(parser.lastEventID == "42")
        let next = try parser.append(Array("data: {}\n\n".utf8))
        #expect(next.map(\.lastEventID) == ["42"])
    }

    /// A resumed stream starts from the ID it resumed at.
    @Test func aResumedParserKeepsTheIdItResumedFrom() throws {
        var parser = EventStreamParser(lastEventID: "9")
        #expect(try parser.append(Array("data: x\n\n".utf8)).map(\.lastEventID) == ["9"])
    }

    /// A line or event past the limit throws instead of growing.
    @Test func anOversizedEventThrows() throws {
        var parser = EventStreamParser(maximumEventSize: 16)
        #expect(throws: EventStreamError.eventTooLarge(limit: 16)) {
            _ = try parser.append(Array(("data: " + String(repeating: "x", count: 40)).utf8))
        }
        var accumulating = EventStreamParser(maximumEventSize: 16)
        #expect(throws: EventStreamError.eventTooLarge(limit: 16)) {
            _ = try accumulating.append(Array("data: 12345678\ndata: 12345678\n".utf8))
        }
    }
}
