internal import CTokenBrokerSystem
package import Foundation
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#endif

/// A program started with posix_spawn(3) and reaped by a thread of its own.
///
/// Not Foundation's `Process`: on Linux its `run()` reads each `/proc/self/fd` entry as a
/// whole 256-byte `dirent` name and, now and then, reads past the end of glibc's buffer
/// and crashes (swift-corelibs-foundation#5472, in Swift 6.3.1). The daemon starts
/// browsers, and the tests start fixtures by the hundred, so that crash has to be gone.
/// Needs glibc 2.34 or later (`posix_spawn_file_actions_addclosefrom_np`).
package final class ChildProcess: Sendable {
    /// Where one of the child's standard descriptors goes.
    package enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// The parent's own descriptor.
        case inherit
        /// A new pipe; the parent's end is in ``standardInput``, ``standardOutput`` or
        /// ``standardError``.
        case pipe
    }

    /// How the child ended.
    package enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        package var description: String {
            switch self {
            case .exited(let status): "exit status \(status)"
            case .signalled(let signal): "signal \(signal)"
            }
        }
    }

    /// posix_spawn failed; nothing was started.
    package struct SpawnError: Error, CustomStringConvertible {
        package var executable: String
        package var errno: Int32
        package var description: String {
            "cannot start \(executable): \(String(cString: strerror(errno)))"
        }
    }

    /// The process ID; valid until the child has been reaped.
    package var pid: Int32 { reaper.pid }
    /// The parent's writing end when stdin is ``Stream/pipe``.
    package let standardInput: FileHandle?
    /// The parent's reading end when stdout is ``Stream/pipe``.
    package let standardOutput: FileHandle?
    /// The parent's reading end when stderr is ``Stream/pipe``.
    package let standardError: FileHandle?

    private let reaper: Reaper

    /// Starts `executable` (a path; no `PATH` lookup, no shell) with `arguments`.
    /// `environment` nil passes this process's environment on.
    package init(
        executable: String, arguments: [String], environment: [String: String]? = nil,
        standardInput: Stream = .null, standardOutput: Stream = .null, standardError: Stream = .null
    ) throws {
        var parentEnds: [FileHandle?] = [nil, nil, nil]
        var childEnds: [Int32] = []
        defer { for descriptor in childEnds { close(descriptor) } }
        var stdio: [Int32] = [-1, -1, -1]
        for (target, stream) in [standardInput, standardOutput, standardError].enumerated() {
            switch stream {
            case .null: stdio[target] = -1
            case .inherit: stdio[target] = -2
            case .pipe:
                var ends: [Int32] = [-1, -1]
                guard tb_pipe_cloexec(&ends) == 0 else {
                    throw SpawnError(executable: executable, errno: errno)
                }
                // [0] reads, [1] writes: the child reads its stdin and writes the others.
                var (childEnd, parentEnd) = target == 0 ? (ends[0], ends[1]) : (ends[1], ends[0])
                // With 0-2 closed in this process a pipe could land there, and the child's
                // stdio set-up would overwrite it before using it.
                if childEnd < 3 {
                    let moved = fcntl(childEnd, F_DUPFD_CLOEXEC, 3)
                    close(childEnd)
                    childEnd = moved
                }
                childEnds.append(childEnd)
                parentEnds[target] = FileHandle(fileDescriptor: parentEnd, closeOnDealloc: true)
                guard childEnd >= 0 else { throw SpawnError(executable: executable, errno: errno) }
                stdio[target] = childEnd
            }
        }
        var pid: pid_t = 0
        let result = Self.withCStrings([executable] + arguments) { argv in
            Self.withCStrings(environment.map { $0.map { "\($0.key)=\($0.value)" } }) { envp in
                stdio.withUnsafeBufferPointer { tb_spawn(&pid, executable, argv, envp, $0.baseAddress) }
            }
        }
        guard result == 0 else { throw SpawnError(executable: executable, errno: result) }
        self.standardInput = parentEnds[0]
        self.standardOutput = parentEnds[1]
        self.standardError = parentEnds[2]
        self.reaper = Reaper(pid: pid)
        // The thread keeps the reaper, not this object: a launched-and-forgotten child (a
        // browser) leaves no zombie, and dropping the object still closes its pipes.
        let reaper = reaper
        let thread = Thread { reaper.reap() }
        thread.name = "reaper \(pid)"
        thread.start()
    }

    /// Waits until the child has ended, without blocking a thread of the caller's.
    package func wait() async -> Termination {
        await reaper.wait()
    }

    /// Blocks the calling thread until the child has ended.
    package func waitBlocking() -> Termination {
        reaper.waitBlocking()
    }

    /// Sends `signal` unless the child has been reaped, so that a reused PID never gets it.
    package func send(signal: Int32) {
        reaper.send(signal: signal)
    }

    /// `strings` as a NULL-terminated `char *[]`, or NULL for nil.
    private static func withCStrings<Result>(
        _ strings: [String]?, _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>?) -> Result
    ) -> Result {
        guard let strings else { return body(nil) }
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

/// The PID and its end: waits for the child on a thread and tells every waiter.
private final class Reaper: Sendable {
    let pid: Int32

    private struct State {
        var termination: ChildProcess.Termination?
        var waiters: [CheckedContinuation<ChildProcess.Termination, Never>] = []
    }

    private let state = Mutex(State())
    private let reaped = DispatchSemaphore(value: 0)

    init(pid: Int32) {
        self.pid = pid
    }

    func wait() async -> ChildProcess.Termination {
        await withCheckedContinuation { continuation in
            let ended: ChildProcess.Termination? = state.withLock { state in
                if let termination = state.termination { return termination }
                state.waiters.append(continuation)
                return nil
            }
            if let ended { continuation.resume(returning: ended) }
        }
    }

    func waitBlocking() -> ChildProcess.Termination {
        reaped.wait()
        reaped.signal()  // for the next blocking waiter
        return state.withLock { $0.termination! }
    }

    func send(signal: Int32) {
        state.withLock { state in
            // The reaper takes this lock before it reaps: until then the PID is the child's.
            if state.termination == nil { _ = kill(pid, signal) }
        }
    }

    func reap() {
        // Wait without reaping first, so that `send(signal:)` never races the PID's reuse.
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0, errno == EINTR {}
        let (termination, waiters) = state.withLock { state in
            var status: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &status, 0) } while result == -1 && errno == EINTR
            // -1 (ECHILD) only if SIGCHLD is ignored and the kernel reaped it: status unknown.
            let termination: ChildProcess.Termination =
                result == -1 ? .exited(-1)
                : status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
            state.termination = termination
            defer { state.waiters = [] }
            return (termination, state.waiters)
        }
        reaped.signal()
        for waiter in waiters { waiter.resume(returning: termination) }
    }
}
