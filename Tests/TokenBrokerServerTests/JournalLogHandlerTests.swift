import Foundation
import Glibc
import Logging
import Synchronization
import Testing
@testable import TokenBrokerServer

/// The journal reads a line's priority from its `<N>` prefix (sd-daemon(3)).
struct JournalLogHandlerTests {
    private final class Lines: Sendable {
        let text = Mutex("")
    }

    private func logger(writingTo lines: Lines, level: Logger.Level = .trace) -> Logger {
        Logger(label: "tokenbrokerd") { label in
            var handler = JournalLogHandler(label: label) { text in lines.text.withLock { $0 += text } }
            handler.logLevel = level
            return handler
        }
    }

    @Test func eachLevelCarriesItsPriorityAndNoTimestamp() {
        let lines = Lines()
        let log = logger(writingTo: lines)
        log.critical("c")
        log.error("e")
        log.warning("w")
        log.notice("n")
        log.info("i")
        log.debug("d")
        log.trace("t")
        #expect(lines.text.withLock { $0 } == """
            <2>tokenbrokerd: c
            <3>tokenbrokerd: e
            <4>tokenbrokerd: w
            <5>tokenbrokerd: n
            <6>tokenbrokerd: i
            <7>tokenbrokerd: d
            <7>tokenbrokerd: t

            """)
    }

    @Test func everyLineOfAMultiLineMessageIsPrefixedAndMetadataIsSorted() {
        let lines = Lines()
        var log = logger(writingTo: lines, level: .info)
        log[metadataKey: "b"] = "2"
        log.error("first\nsecond", metadata: ["a": "1"])
        log.debug("below the level")
        #expect(lines.text.withLock { $0 } == "<3>tokenbrokerd: a=1 b=2 first\n<3>second\n")
    }

    @Test func journalOnlyWhenTheStreamIsStandardError() {
        #expect(!JournalLogHandler.standardErrorIsJournal(environment: [:]))
        #expect(!JournalLogHandler.standardErrorIsJournal(environment: ["JOURNAL_STREAM": "0:0"]))
        var status = stat()
        #expect(fstat(2, &status) == 0)
        #expect(JournalLogHandler.standardErrorIsJournal(environment: ["JOURNAL_STREAM": "\(status.st_dev):\(status.st_ino)"]))
    }
}
