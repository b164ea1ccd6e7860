import Foundation
import Synchronization

/// A fixture in a child process (a Python server of the interop or conformance tests): it
/// prints one JSON handshake line once it listens, takes orders as lines on stdin, and
/// exits when stdin closes. Its stderr is discarded.
final class FixtureProcess: Sendable {
    let process: Process
    /// What it prints after the handshake (the conformance fixture's verdicts).
    let lines: PipeLines
    private let stdin: Pipe
    private let exited: OneShotSignal

    /// The fixture ended before its handshake; `description` names it.
    struct ExitedEarly: Error, CustomStringConvertible {
        var description: String
    }

    private init(process: Process, stdin: Pipe, lines: PipeLines, exited: OneShotSignal) {
        self.process = process
        self.stdin = stdin
        self.lines = lines
        self.exited = exited
    }

    /// Starts `executable arguments` and returns once its handshake line arrived: no sleeping.
    static func start<Handshake: Decodable>(
        _ executable: String, _ arguments: [String], handshake: Handshake.Type
    ) async throws -> (FixtureProcess, Handshake) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        let exited = OneShotSignal()
        process.terminationHandler = { _ in exited.fire() }
        try process.run()
        let fixture = FixtureProcess(process: process, stdin: stdin, lines: PipeLines(stdout.fileHandleForReading), exited: exited)
        guard let line = await fixture.lines.next() else {
            let name = arguments.first { $0.hasSuffix(".py") }.map { ($0 as NSString).lastPathComponent } ?? executable
            throw ExitedEarly(description: "the fixture \(name) exited before it was ready")
        }
        return (fixture, try JSONDecoder().decode(Handshake.self, from: line))
    }

    /// Writes one order line to its stdin.
    func send(_ line: Data) throws {
        try stdin.fileHandleForWriting.write(contentsOf: line + Data("\n".utf8))
    }

    /// Closes its stdin (it exits on EOF), or also terminates it, and waits until it is gone.
    func stop(terminate: Bool) async {
        try? stdin.fileHandleForWriting.close()
        if terminate, process.isRunning { process.terminate() }
        await exited.wait()
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

/// A signal fired once, awaited by anyone.
final class OneShotSignal: Sendable {
    private let state = Mutex<(fired: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func fire() {
        let waiters = state.withLock { state in
            state.fired = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let fired = state.withLock { state in
                if !state.fired { state.waiters.append(continuation) }
                return state.fired
            }
            if fired { continuation.resume() }
        }
    }
}
