/// One event of a `text/event-stream` body, as the WHATWG HTML standard's
/// "interpreting an event stream" dispatches it.
package struct ServerSentEvent: Sendable, Hashable {
    /// The `event:` field; `message` when the event named none.
    package var type: String
    /// The `data:` lines joined with `\n`, as bytes: for MCP, one JSON-RPC message.
    package var data: [UInt8]
    /// The last event ID at dispatch (the standard carries it over from earlier events).
    package var lastEventID: String

    /// An event.
    package init(type: String = "message", data: [UInt8], lastEventID: String = "") {
        self.type = type
        self.data = data
        self.lastEventID = lastEventID
    }
}

/// Splits a `text/event-stream` byte stream into events, whatever chunks it arrives in.
///
/// Follows the WHATWG HTML standard (§9.2.6): lines end at CRLF, LF or CR; a leading BOM is
/// dropped; `:` starts a comment; one space after the field's colon is removed; `data`
/// lines accumulate; `id` is ignored when it contains NUL; `retry` is taken only when all
/// digits; an event is dispatched at an empty line and only when it has data; an
/// unfinished event at the end of the stream is dropped. Pure: bytes in, events out.
///
/// Bounded: a line or an event's data past ``maximumEventSize`` bytes throws
/// ``EventStreamError/eventTooLarge`` rather than growing without end.
package struct EventStreamParser: Sendable {
    /// The largest event (and line) accepted, in bytes.
    package let maximumEventSize: Int
    /// The last `retry:` value, in milliseconds: how long to wait before reconnecting.
    package private(set) var reconnectionTime: Int?
    /// The last event ID buffer: what a reconnection sends as `Last-Event-ID`.
    package private(set) var lastEventID = ""

    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var eventType = ""
    private var hasData = false
    private var atStart = true
    private var skipLineFeed = false  // the previous chunk ended in CR; a LF first is its pair

    /// A parser for one stream.
    ///
    /// - Parameters:
    ///   - lastEventID: The ID a resumed stream continues from (what `Last-Event-ID` sent).
    ///   - maximumEventSize: The largest event accepted, in bytes.
    package init(lastEventID: String = "", maximumEventSize: Int = 16 << 20) {
        self.lastEventID = lastEventID
        self.maximumEventSize = maximumEventSize
    }

    /// Consumes one chunk of the stream.
    ///
    /// - Returns: The events the chunk completes, in stream order.
    package mutating func append(_ chunk: some Sequence<UInt8>) throws(EventStreamError) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in chunk {
            if skipLineFeed {
                skipLineFeed = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\n"):
                if let event = try endLine() { events.append(event) }
            case UInt8(ascii: "\r"):
                skipLineFeed = true
                if let event = try endLine() { events.append(event) }
            default:
                guard line.count < maximumEventSize else { throw .eventTooLarge(limit: maximumEventSize) }
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine() throws(EventStreamError) -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if atStart {
            atStart = false
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
        }
        guard !line.isEmpty else { return dispatch() }
        guard line[0] != UInt8(ascii: ":") else { return nil }
        let field: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = line[..<colon]
            value = line[(colon + 1)...]
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        } else {
            field = line[...]
            value = []
        }
        switch String(decoding: field, as: UTF8.self) {
        case "event":
            eventType = String(decoding: value, as: UTF8.self)
        case "data":
            guard data.count + value.count + 1 <= maximumEventSize else { throw .eventTooLarge(limit: maximumEventSize) }
            if hasData { data.append(UInt8(ascii: "\n")) }
            data.append(contentsOf: value)
            hasData = true
        case "id":
            if !value.contains(0) { lastEventID = String(decoding: value, as: UTF8.self) }
        case "retry":
            if !value.isEmpty, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                let milliseconds = Int(String(decoding: value, as: UTF8.self))
            {
                reconnectionTime = milliseconds
            }
        default:
            break
        }
        return nil
    }

    private mutating func dispatch() -> ServerSentEvent? {
        defer {
            data.removeAll(keepingCapacity: true)
            eventType = ""
            hasData = false
        }
        guard hasData else { return nil }
        return ServerSentEvent(type: eventType.isEmpty ? "message" : eventType, data: data, lastEventID: lastEventID)
    }
}

/// Why an event stream could not be read.
package enum EventStreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A line or an event's data passed the parser's limit.
    case eventTooLarge(limit: Int)

    package var description: String {
        switch self {
        case .eventTooLarge(let limit): "the server sent an event over \(limit) bytes"
        }
    }
}
