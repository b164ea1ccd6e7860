package import TokenBrokerProtocol

#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// What the bridge writes: messages to the host on one descriptor (stdout), one per line,
/// and diagnostics on another (stderr), where hosts show a server's logs.
///
/// Writes are whole lines under a lock, so messages from concurrent streams never
/// interleave. A blocking write when the host does not read is the back-pressure.
package final class HostOutput: Sendable {
    private let messageDescriptor: Int32
    private let diagnosticDescriptor: Int32
    private let lock = Mutex(())
    private let reportedDaemonAbsence = Atomic<Bool>(false)

    /// Output to `messages` (stdout, 1) and `diagnostics` (stderr, 2).
    package init(messages: Int32 = 1, diagnostics: Int32 = 2) {
        self.messageDescriptor = messages
        self.diagnosticDescriptor = diagnostics
    }

    /// Writes one message as the server wrote it, on one line.
    ///
    /// A raw CR or LF cannot occur inside a JSON string, so any in `json` is whitespace
    /// between tokens (a pretty-printed body, a multi-line SSE `data`): each becomes a
    /// space, which keeps the message what it was and the stdio framing intact.
    package func write(message json: some Collection<UInt8>) {
        var line = Array(json)
        for index in line.indices where line[index] == 0x0A || line[index] == 0x0D { line[index] = 0x20 }
        line.append(0x0A)
        lock.withLock { _ in writeAll(messageDescriptor, line) }
    }

    /// Writes a JSON-RPC error answer for `id` (a parse error's `null` included).
    package func write(errorFor id: JSONValue, code: Int, message: String, data: JSONValue? = nil) {
        var error: [String: JSONValue] = ["code": .integer(code), "message": .string(message)]
        if let data { error["data"] = data }
        let answer: JSONValue = ["jsonrpc": "2.0", "id": id, "error": .object(error)]
        write(message: answer.serialized())
    }

    /// Writes one diagnostic line, `tokenbroker proxy: …`. Never give it a token.
    package func diagnose(_ text: String) {
        let line = Array("tokenbroker proxy: \(text)\n".utf8)
        lock.withLock { _ in writeAll(diagnosticDescriptor, line) }
    }

    /// True the first time only.
    func reportDaemonAbsenceOnce() -> Bool {
        !reportedDaemonAbsence.exchange(true, ordering: .relaxed)
    }

    private func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // the host is gone; the end of its input ends the bridge
                }
                offset += written
            }
        }
    }
}
