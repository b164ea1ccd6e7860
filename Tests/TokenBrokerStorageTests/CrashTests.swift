import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerStorage
import TokenBrokerSystem

#if canImport(Glibc)
import Glibc
import TokenBrokerTestKit
#endif

@Suite("Crash safety")
struct CrashTests {
    static let helperName = "TokenBrokerStorageCrashWriter"

    /// The helper executable, built next to the test bundle in the products directory.
    static func helperPath() throws -> String {
        var directories: [String] = []
        if let runner = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append((runner as NSString).deletingLastPathComponent)
        }
        if let executable = Bundle.main.executableURL {
            directories.append(executable.resolvingSymlinksInPath().deletingLastPathComponent().path)
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            directories.append((bundle.bundlePath as NSString).deletingLastPathComponent)
        }
        let candidates = directories.map { $0 + "/" + helperName }
        let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
        return try #require(found, "\(helperName) not found in \(directories); build it with `swift build`")
    }

    /// Reads up to and including the first newline, or to end of file.
    static func readLine(from handle: FileHandle) -> String {
        var bytes = Data()
        while !bytes.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData  // blocks until data or EOF: the child's signal
            if chunk.isEmpty { break }
            bytes.append(chunk)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("a writer killed mid-transaction leaves the old grant and no audit line")
    func killedMidTransaction() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/broker.sqlite3"
            let original = Fixture.grant()
            do {
                let store = try BrokerStore.open(path: path, key: .testing)
                try await Fixture.seed(store)
                try await store.saveGrant(original)
                try store.close()
            }
            let keyPath = directory + "/key"
            try StorageKey.testing.fileContents.write(toFile: keyPath, atomically: false, encoding: .utf8)
            chmod(keyPath, 0o600)

            let child = try ChildProcess(
                executable: try Self.helperPath(),
                arguments: [path, keyPath, Fixture.resource.string, Fixture.issuer, Fixture.refreshToken.exposedValue],
                standardInput: .pipe, standardOutput: .pipe, standardError: .pipe)

            // The child writes this only after its UPDATE and INSERT ran, inside the open
            // transaction, and then blocks reading stdin, which we never write to.
            let handshake = Self.readLine(from: child.standardOutput!)
            guard handshake == "mid-transaction\n" else {
                try? child.standardInput!.close()
                let message = String(decoding: child.standardError!.readDataToEndOfFile(), as: UTF8.self)
                _ = await child.wait()
                Issue.record("the helper did not reach the middle of its transaction: \(message)")
                return
            }
            // While it lives, it holds the server lock.
            let refused = #expect(throws: StorageError.self) { try BrokerStore.open(path: path, key: .testing) }
            #expect(refused?.code == .alreadyServing)

            child.send(signal: SIGKILL)
            #expect(await child.wait() == .signalled(SIGKILL))
            try? child.standardInput!.close()

            // The kernel dropped the dead writer's lock; SQLite rolls the WAL back.
            let store = try BrokerStore.open(path: path, key: .testing)
            defer { try? store.close() }
            #expect(try await store.grant(resource: Fixture.resource, issuer: Fixture.issuer) == original)
            #expect(try await store.recentAuditEntries(limit: 10).isEmpty)
        }
    }
}
