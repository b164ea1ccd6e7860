/// Splits a byte stream into protocol lines, whatever the chunks it arrives in.
///
/// Feed it what each socket read returned; it returns the complete lines, without the
/// `\n` and without a `\r` before it. Empty lines are skipped. A line that grows past
/// ``maximumLineLength`` bytes (every byte before the `\n`, a `\r` included) produces
/// ``Event/oversizedLine`` the moment the limit is passed; the framer then drops its
/// buffer and ignores all further input, because the caller answers `-32600` and closes
/// the connection. It never holds more than ``maximumLineLength`` bytes.
///
/// A pure value: no I/O, no clock, so it is tested with plain byte arrays.
public struct LineFramer: Sendable {
    /// What the framer found in the input.
    public enum Event: Sendable, Hashable {
        /// A complete line, without `\n` or a trailing `\r`. Never empty.
        case line([UInt8])
        /// A line passed the limit; nothing after it is read.
        case oversizedLine
    }

    /// The longest line accepted, in bytes.
    public let maximumLineLength: Int

    /// Whether a line passed the limit; once set, ``append(_:)`` returns nothing.
    public private(set) var hasRejectedOversizedLine = false

    private var buffer: [UInt8] = []

    /// Creates a framer.
    ///
    /// - Parameter maximumLineLength: The longest line accepted, in bytes; the protocol's
    ///   is ``BrokerProtocol/maximumLineLength``.
    public init(maximumLineLength: Int = BrokerProtocol.maximumLineLength) {
        precondition(maximumLineLength > 0, "maximumLineLength must be positive")
        self.maximumLineLength = maximumLineLength
    }

    /// The bytes of an incomplete line held until its `\n` arrives; at most
    /// ``maximumLineLength``. Non-zero at the end of the stream means the peer sent an
    /// unterminated line, which is not a message.
    public var bufferedByteCount: Int { buffer.count }

    /// Consumes one chunk of the stream.
    ///
    /// - Parameter chunk: The bytes one read returned; any split is fine, including one
    ///   inside a multi-byte UTF-8 character.
    /// - Returns: The events the chunk completes, in stream order.
    public mutating func append(_ chunk: some Collection<UInt8>) -> [Event] {
        guard !hasRejectedOversizedLine else { return [] }
        // One generic call, then concrete code: scanning byte by byte through the
        // collection's witnesses costs hundreds of instructions a byte across modules.
        if let events = chunk.withContiguousStorageIfAvailable({ append(bytes: $0) }) { return events }
        return Array(chunk).withUnsafeBufferPointer { append(bytes: $0) }
    }

    private mutating func append(bytes chunk: UnsafeBufferPointer<UInt8>) -> [Event] {
        var events: [Event] = []
        var rest = chunk[...]
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            let piece = rest[..<newline]
            guard buffer.count + piece.count <= maximumLineLength else {
                rejectOversizedLine(into: &events)
                return events
            }
            var line: [UInt8]
            if buffer.isEmpty {
                line = Array(piece)
            } else {
                buffer.append(contentsOf: piece)
                line = buffer
                buffer = []
            }
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            if !line.isEmpty { events.append(.line(line)) }
            rest = rest[rest.index(after: newline)...]
        }
        let needed = buffer.count + rest.count
        guard needed <= maximumLineLength else {
            rejectOversizedLine(into: &events)
            return events
        }
        if buffer.capacity < needed {
            // Grow geometrically, as Array would, but never past the limit.
            buffer.reserveCapacity(min(maximumLineLength, max(needed, buffer.capacity * 2)))
        }
        buffer.append(contentsOf: rest)
        return events
    }

    private mutating func rejectOversizedLine(into events: inout [Event]) {
        hasRejectedOversizedLine = true
        buffer = []
        events.append(.oversizedLine)
    }
}
