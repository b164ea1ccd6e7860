import Testing
import TokenBrokerProtocol

@Suite("Line framer")
struct LineFramerTests {
    static let limit = BrokerProtocol.maximumLineLength

    /// Feeds `chunks` and returns all events.
    private func frame(_ chunks: [[UInt8]], maximumLineLength: Int = limit) -> (events: [LineFramer.Event], framer: LineFramer) {
        var framer = LineFramer(maximumLineLength: maximumLineLength)
        var events: [LineFramer.Event] = []
        for chunk in chunks {
            events += framer.append(chunk)
        }
        return (events, framer)
    }

    /// Events without their bytes, so a failure involving a 1 MiB line prints one short line.
    private func summary(_ events: [LineFramer.Event]) -> [String] {
        events.map { event in
            switch event {
            case .line(let line): "line of \(line.count) bytes"
            case .oversizedLine: "oversized"
            }
        }
    }

    @Test("splits lines and strips a trailing CR")
    func basicLines() {
        let (events, framer) = frame([bytes("{\"a\":1}\n{\"b\":2}\r\nunfinished")])
        #expect(events == [.line(bytes("{\"a\":1}")), .line(bytes("{\"b\":2}"))])
        #expect(framer.bufferedByteCount == "unfinished".utf8.count)
    }

    @Test("skips empty lines")
    func emptyLines() {
        #expect(frame([bytes("\n\r\n\nx\n\n")]).events == [.line(bytes("x"))])
    }

    @Test("keeps a CR that is not the last byte of the line")
    func innerCR() {
        #expect(frame([bytes("a\rb\r\r\n")]).events == [.line(bytes("a\rb\r"))])
    }

    @Test("every split of a small input gives the same lines")
    func everySplit() {
        let input = bytes("{\"jsonrpc\":\"2.0\",\"id\":1}\r\n\n{\"résumé\":\"😀\"}\nlast\n")
        let expected = frame([input]).events
        #expect(expected.count == 3)
        for first in 0...input.count {
            for second in first...input.count {
                let chunks = [Array(input[..<first]), Array(input[first..<second]), Array(input[second...])]
                let (events, framer) = frame(chunks)
                #expect(events == expected, "split at \(first), \(second)")
                #expect(framer.bufferedByteCount == 0)
            }
        }
    }

    @Test("byte-by-byte feeding splits every multi-byte character")
    func byteByByte() {
        let text = "ünïcödé 😀 中文"
        let input = bytes(text + "\n")
        let (events, _) = frame(input.map { [$0] })
        #expect(events == [.line(bytes(text))])
        if case .line(let line) = events.first {
            #expect(String(validating: line, as: UTF8.self) == text)
        }
    }

    @Test("accepts a line of exactly the limit")
    func exactlyTheLimit() {
        let line = [UInt8](repeating: UInt8(ascii: "a"), count: Self.limit)
        let (events, framer) = frame([line, bytes("\n")])
        #expect(summary(events) == ["line of \(Self.limit) bytes"])
        let isTheLine = events == [.line(line)]
        #expect(isTheLine)
        #expect(!framer.hasRejectedOversizedLine)
        // The same, in one chunk together with the newline.
        #expect(summary(frame([line + bytes("\n")]).events) == ["line of \(Self.limit) bytes"])
    }

    @Test("refuses a line one byte over the limit, even when it never ends")
    func oneOverTheLimit() {
        let line = [UInt8](repeating: UInt8(ascii: "a"), count: Self.limit + 1)
        #expect(summary(frame([line + bytes("\n")]).events) == ["oversized"])
        #expect(summary(frame([line]).events) == ["oversized"])
        // The \r counts: it is a byte before the \n.
        let withCR = [UInt8](repeating: UInt8(ascii: "a"), count: Self.limit) + bytes("\r\n")
        #expect(summary(frame([withCR]).events) == ["oversized"])
    }

    @Test("signals as soon as the limit is passed, after the lines before it")
    func signalsImmediately() {
        var framer = LineFramer(maximumLineLength: 8)
        #expect(framer.append(bytes("ok\n12345678")) == [.line(bytes("ok"))])
        #expect(framer.bufferedByteCount == 8)
        #expect(framer.append(bytes("9")) == [.oversizedLine])
        #expect(framer.hasRejectedOversizedLine)
        #expect(framer.bufferedByteCount == 0)
        // Nothing is read after the signal, not even a complete line.
        #expect(framer.append(bytes("\nfine\n")) == [])
    }

    @Test("a huge input without a newline never buffers more than the limit")
    func memoryBounded() {
        var framer = LineFramer()
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 * 1024)
        var events: [LineFramer.Event] = []
        var largestBuffer = 0
        for _ in 0..<40 {  // 2.5 MiB in total
            events += framer.append(chunk)
            largestBuffer = max(largestBuffer, framer.bufferedByteCount)
            #expect(framer.bufferedByteCount <= Self.limit)
        }
        #expect(summary(events) == ["oversized"])
        #expect(largestBuffer == Self.limit)
        #expect(framer.bufferedByteCount == 0)
    }

    @Test("a single chunk far larger than the limit is refused without being buffered")
    func hugeChunk() {
        var framer = LineFramer(maximumLineLength: 16)
        #expect(framer.append([UInt8](repeating: 0x41, count: 10_000)) == [.oversizedLine])
        #expect(framer.bufferedByteCount == 0)
    }

    @Test("framed lines feed the classifier")
    func framerAndClassifier() {
        let (events, _) = frame([bytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"met"), bytes("hod\":\"broker/info\"}\r\n")])
        guard case .line(let line) = events.first else {
            Issue.record("no line")
            return
        }
        #expect(ClientMessage(line: line) == .request(JSONRPCRequest(id: 1, method: .brokerInfo)))
    }
}
