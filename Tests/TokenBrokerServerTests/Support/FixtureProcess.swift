import Foundation
import Synchronization
import TokenBrokerSystem

/// A fixture in a child process (a Python server of the interop or conformance tests): it
/// prints one JSON handshake line once it listens, takes orders as lines on stdin, and
/// exits when stdin closes. Its stderr is discarded.
final class FixtureProcess: Sendable {
    let process: ChildProcess
    /// What it prints after the handshake (the conformance fixture's verdicts).
    let lines: PipeLines

    /// The fixture ended before its handshake; `description` names it.
    struct ExitedEarly: Error, CustomStringConvertible {
        var description: String
    }

    private init(process: ChildProcess, lines: PipeLines) {
        self.process = process
        self.lines = lines
    }

    /// Starts `executable arguments` and returns once its handshake line arrived: no sleeping.
    static func start<Handshake: Decodable>(
        _ executable: String, _ arguments: [String], handshake: Handshake.Type
    ) async throws -> (FixtureProcess, Handshake) {
        let process = try ChildProcess(
            executable: executable, arguments: arguments, standardInput: .pipe, standardOutput: .pipe)
        let fixture = FixtureProcess(process: process, lines: PipeLines(process.standardOutput!))
        guard let line = await fixture.lines.next() else {
            let name = arguments.first { $0.hasSuffix(".py") }.map { ($0 as NSString).lastPathComponent } ?? executable
            throw ExitedEarly(description: "the fixture \(name) exited before it was ready")
        }
        return (fixture, try JSONDecoder().decode(Handshake.self, from: line))
    }

    /// Writes one order line to its stdin.
    func send(_ line: Data) throws {
        try process.standardInput!.write(contentsOf: line + Data("\n".utf8))
    }

    /// Closes its stdin (it exits on EOF), or also terminates it, and waits until it is gone.
    func stop(terminate: Bool) async {
        try? process.standardInput!.close()
        if terminate { process.send(signal: SIGTERM) }
        _ = await process.wait()
    }
}

/// Lines from a pipe, read on a thread of their own: the in-process daemon needs the
/// cooperative pool while the fixture waits for the driver, so no task may block on a read.
final class PipeLines: Sendable {
    private struct State {
        var buffer = Data()
        var lines: [Data] = []
        var waiters: [CheckedContinuation<Data?, Never>] = []
        var closed = false
    }

    private let state = Mutex(State())

    init(_ handle: FileHandle) {
        let thread = Thread { [self] in
            while true {
                let chunk = handle.availableData
                let resumed: [(CheckedContinuation<Data?, Never>, Data?)] = self.state.withLock { state in
                    if chunk.isEmpty {
                        state.closed = true
                    } else {
                        state.buffer.append(chunk)
                        while let newline = state.buffer.firstIndex(of: UInt8(ascii: "\n")) {
                            state.lines.append(Data(state.buffer[state.buffer.startIndex..<newline]))
                            state.buffer = Data(state.buffer[state.buffer.index(after: newline)...])
                        }
                    }
                    var resumed: [(CheckedContinuation<Data?, Never>, Data?)] = []
                    while !state.waiters.isEmpty, !state.lines.isEmpty {
                        resumed.append((state.waiters.removeFirst(), state.lines.removeFirst()))
                    }
                    if state.closed {
                        resumed += state.waiters.map { ($0, nil) }
                        state.waiters = []
                    }
                    return resumed
                }
                for (waiter, line) in resumed { waiter.resume(returning: line) }
                if chunk.isEmpty { return }
            }
        }
        thread.start()
    }

    /// The next line, or `nil` once the pipe closed.
    func next() async -> Data? {
        await withCheckedContinuation { continuation in
            let ready: Data?? = state.withLock { state in
                if !state.lines.isEmpty { return .some(state.lines.removeFirst()) }
                if state.closed { return .some(nil) }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

extension PipeLines {
    /// The lines up to and including the first that starts with `prefix`, as text (all of
    /// them if the pipe closes first).
    func lines(through prefix: String) async -> [String] {
        var lines: [String] = []
        while let line = await next().map({ String(decoding: $0, as: UTF8.self) }) {
            lines.append(line)
            if line.hasPrefix(prefix) { break }
        }
        return lines
    }
}
