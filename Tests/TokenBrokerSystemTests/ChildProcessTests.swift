import Foundation
import Testing
import Synchronization
import TokenBrokerSystem

#if canImport(Glibc)
import Glibc
#endif

/// Real children of this process: `sh`, `cat` and `env` from the base system.
@Suite struct ChildProcessTests {
    @Test func reportsTheExitStatus() async throws {
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "exit 7"])
        #expect(await child.wait() == .exited(7))
        #expect(child.waitBlocking() == .exited(7))
    }

    @Test func pipesCarryStdinToStdout() throws {
        let child = try ChildProcess(
            executable: "/bin/cat", arguments: [], standardInput: .pipe, standardOutput: .pipe)
        try child.standardInput!.write(contentsOf: Data("a line\n".utf8))
        try child.standardInput!.close()
        let output = child.standardOutput!.readDataToEndOfFile()
        #expect(String(decoding: output, as: UTF8.self) == "a line\n")
        #expect(child.waitBlocking() == .exited(0))
    }

    @Test func aSignalEndsIt() async throws {
        // cat waits on its open stdin pipe until the signal comes.
        let child = try ChildProcess(executable: "/bin/cat", arguments: [], standardInput: .pipe)
        child.send(signal: SIGTERM)
        #expect(await child.wait() == .signalled(SIGTERM))
    }

    @Test func theEnvironmentIsExactlyTheOneGiven() throws {
        let child = try ChildProcess(
            executable: "/usr/bin/env", arguments: [], environment: ["ONLY": "this one"], standardOutput: .pipe)
        let output = child.standardOutput!.readDataToEndOfFile()
        #expect(String(decoding: output, as: UTF8.self) == "ONLY=this one\n")
        #expect(child.waitBlocking() == .exited(0))
    }

    @Test func withoutAnEnvironmentItInheritsThisOne() throws {
        let path = try #require(ProcessInfo.processInfo.environment["PATH"])
        let child = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "printf %s \"$PATH\""], standardOutput: .pipe)
        let output = child.standardOutput!.readDataToEndOfFile()
        #expect(String(decoding: output, as: UTF8.self) == path)
        #expect(child.waitBlocking() == .exited(0))
    }

    /// A descriptor the parent holds without close-on-exec (a socket-activated listening
    /// socket is one) does not reach the child.
    @Test func noOtherDescriptorIsInherited() throws {
        let inheritable = open("/dev/null", O_RDONLY)
        try #require(inheritable > 2)
        defer { close(inheritable) }
        #expect(fcntl(inheritable, F_GETFD) & FD_CLOEXEC == 0)
        let child = try ChildProcess(
            executable: "/bin/sh",
            arguments: ["-c", "if (exec <&\(inheritable)) 2>/dev/null; then echo open; else echo closed; fi"],
            standardOutput: .pipe)
        let output = child.standardOutput!.readDataToEndOfFile()
        #expect(String(decoding: output, as: UTF8.self) == "closed\n")
        #expect(child.waitBlocking() == .exited(0))
    }

    /// Ignored signals survive exec; SIGPIPE, which Swift programs ignore, is reset.
    @Test func sigpipeIsNotIgnoredInTheChild() throws {
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        let child = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "grep '^SigIgn:' /proc/self/status"], standardOutput: .pipe)
        let line = String(decoding: child.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
        #expect(child.waitBlocking() == .exited(0))
        let mask = try #require(UInt64(line.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespacesAndNewlines), radix: 16))
        #expect(mask & (1 << (UInt64(SIGPIPE) - 1)) == 0)
    }

    @Test func aMissingProgramThrowsAndStartsNothing() {
        #expect(throws: ChildProcess.SpawnError.self) {
            try ChildProcess(executable: "/nonexistent/program", arguments: [])
        }
    }

    /// Many children at once, each with its own pipes: every output reaches its own
    /// parent end, and every pipe ends (no sibling holds another's write end).
    @Test func concurrentChildrenKeepTheirOwnPipes() {
        let count = 48
        let outputs = Mutex([String?](repeating: nil, count: count))
        DispatchQueue.concurrentPerform(iterations: count) { index in
            do {
                let child = try ChildProcess(
                    executable: "/bin/cat", arguments: [], standardInput: .pipe, standardOutput: .pipe)
                try child.standardInput!.write(contentsOf: Data("child \(index)\n".utf8))
                try child.standardInput!.close()
                let output = String(decoding: child.standardOutput!.readDataToEndOfFile(), as: UTF8.self)
                if child.waitBlocking() == .exited(0) { outputs.withLock { $0[index] = output } }
            } catch {
                Issue.record(error)
            }
        }
        #expect(outputs.withLock { $0 } == (0..<count).map { "child \($0)\n" })
    }
}
