import Foundation
package import Logging

import Glibc

/// A log handler for a daemon whose stderr is the systemd journal: every line starts with
/// its sd-daemon priority prefix (`<3>` error … `<7>` debug) and carries no timestamp,
/// because journald records the time and reads the priority from the prefix (so
/// `journalctl -p err` finds the errors).
package struct JournalLogHandler: LogHandler {
    /// Where finished lines go; stderr by default, a closure so tests can read them.
    package typealias Writer = @Sendable (String) -> Void

    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    private let label: String
    private let write: Writer

    /// A handler writing lines for `label` with `write` (stderr unless given).
    package init(label: String, write: @escaping Writer = JournalLogHandler.writeStandardError) {
        self.label = label
        self.write = write
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The sd-daemon(3) priority for a swift-log level (syslog's numbers).
    package static func priority(of level: Logger.Level) -> Int {
        switch level {
        case .critical: 2
        case .error: 3
        case .warning: 4
        case .notice: 5
        case .info: 6
        case .debug, .trace: 7
        }
    }

    package func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let fields = merged.isEmpty
            ? "" : merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + " "
        let prefix = "<\(Self.priority(of: event.level))>"
        // Every line gets the prefix: journald reads each line as its own entry, and an
        // unprefixed continuation would land at the default priority.
        let text = "\(label): \(fields)\(event.message)"
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 + "\n" }
        write(lines.joined())
    }

    /// Writes `text` to stderr in one write(2), so lines from different threads do not interleave.
    package static let writeStandardError: Writer = { text in
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { buffer in
                Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
        bytes.removeAll()
    }

    /// Whether stderr is the journal: `JOURNAL_STREAM` is set by systemd to stderr's
    /// `device:inode`, and is compared so that a child whose stderr was redirected, but
    /// which inherited the variable, does not write prefixes into a file or terminal.
    package static func standardErrorIsJournal(environment: [String: String]) -> Bool {
        guard let stream = environment["JOURNAL_STREAM"] else { return false }
        var status = stat()
        guard fstat(2, &status) == 0 else { return false }
        return stream == "\(status.st_dev):\(status.st_ino)"
    }
}
