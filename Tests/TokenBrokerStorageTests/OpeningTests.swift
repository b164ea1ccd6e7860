import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerStorage
import TokenBrokerTestKit

@Suite("Opening, file modes and the server lock")
struct OpeningTests {
    @Test("creates missing directories 0700 and the database, WAL and SHM files 0600")
    func createsOwnerOnlyFiles() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/state/tokenbroker/broker.sqlite3"
            let store = try BrokerStore.open(path: path, key: .testing)
            defer { try? store.close() }
            try await Fixture.seed(store)

            #expect(try permissions(directory + "/state") == 0o700)
            #expect(try permissions(directory + "/state/tokenbroker") == 0o700)
            // The pool keeps the WAL and SHM files while open.
            for file in [path, path + "-wal", path + "-shm", path + ".lock"] {
                #expect(try permissions(file) == 0o600, "\(file)")
            }
        }
    }

    @Test("tightens a database file that exists with a looser mode, and leaves an existing directory alone")
    func tightensLooserModes() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/broker.sqlite3"
            #expect(FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o644]))
            #expect(
                FileManager.default.createFile(
                    atPath: path + "-wal", contents: nil, attributes: [.posixPermissions: 0o666]))
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)

            let store = try BrokerStore.open(path: path, key: .testing)
            defer { try? store.close() }
            try await Fixture.seed(store)

            for file in [path, path + "-wal", path + "-shm"] {
                #expect(try permissions(file) == 0o600, "\(file)")
            }
            #expect(try permissions(directory) == 0o755)
        }
    }

    @Test("a second open for serving is refused, naming the path, until the first is closed")
    func secondOpenIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/broker.sqlite3"
            let first = try BrokerStore.open(path: path, key: .testing)

            let error = #expect(throws: StorageError.self) { try BrokerStore.open(path: path, key: .testing) }
            #expect(error?.code == .alreadyServing)
            #expect(error?.description.contains(path) == true)
            #expect(error?.description.contains("another tokenbrokerd is already serving") == true)

            try first.close()
            let second = try BrokerStore.open(path: path, key: .testing)
            try second.close()
        }
    }

    @Test("dropping the last reference releases the lock too")
    func deinitReleasesTheLock() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/broker.sqlite3"
            var store: BrokerStore? = try BrokerStore.open(path: path, key: .testing)
            #expect(throws: StorageError.self) { try BrokerStore.open(path: path, key: .testing) }
            _ = store  // keep it alive up to here
            store = nil
            let reopened = try BrokerStore.open(path: path, key: .testing)
            try reopened.close()
        }
    }

    @Test("the writer connection runs WAL, synchronous=FULL and foreign keys")
    func pragmasOnDisk() async throws {
        try await withTemporaryDirectory { directory in
            let store = try BrokerStore.open(path: directory + "/broker.sqlite3", key: .testing)
            defer { try? store.close() }
            #expect(try await store.writerPragma("journal_mode") == "wal")
            #expect(try await store.writerPragma("synchronous") == "2")  // FULL
            #expect(try await store.writerPragma("foreign_keys") == "1")
            #expect(try await store.writerPragma("busy_timeout") != "0")
        }
    }

    @Test("every kind of store enforces foreign keys and synchronous=FULL", arguments: StoreKind.allCases)
    func foreignKeysOn(kind: StoreKind) async throws {
        let (foreignKeys, synchronous) = try await kind.withStore { store in
            (try await store.writerPragma("foreign_keys"), try await store.writerPragma("synchronous"))
        }
        #expect(foreignKeys == "1")
        #expect(synchronous == "2")
    }

    @Test("data survives closing and reopening the file")
    func persistsAcrossReopen() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/broker.sqlite3"
            let store = try BrokerStore.open(path: path, key: .testing)
            try await Fixture.seed(store)
            try await store.saveGrant(Fixture.grant())
            try store.close()

            let reopened = try BrokerStore.open(path: path, key: .testing)
            defer { try? reopened.close() }
            #expect(try await reopened.grant(resource: Fixture.resource, issuer: Fixture.issuer) == Fixture.grant())
        }
    }

    @Test("a closed store refuses work with a clear error; closing twice is harmless", arguments: StoreKind.allCases)
    func closedStoreRefusesWork(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try store.close()
            try store.close()
            let error = await #expect(throws: StorageError.self) {
                try await store.allGrants()
            }
            #expect(error?.code == .closed)
        }
    }

    @Test("a file that is not a database is refused and left as it was")
    func refusesNonDatabase() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/broker.sqlite3"
            let garbage = Data(String(repeating: "not a database, ", count: 512).utf8)
            #expect(FileManager.default.createFile(atPath: path, contents: garbage))

            let error = #expect(throws: StorageError.self) { try BrokerStore.open(path: path, key: .testing) }
            #expect(error?.code == .notADatabase)
            #expect(error?.description.contains(path) == true)
            #expect(FileManager.default.contents(atPath: path) == garbage)

            // The refused open released its lock.
            let again = #expect(throws: StorageError.self) { try BrokerStore.open(path: path, key: .testing) }
            #expect(again?.code == .notADatabase)
        }
    }

    @Test("a path whose parent is a file is refused with a file-system error")
    func refusesUnusablePath() async throws {
        try await withTemporaryDirectory { directory in
            #expect(FileManager.default.createFile(atPath: directory + "/file", contents: Data()))
            let error = #expect(throws: StorageError.self) {
                try BrokerStore.open(path: directory + "/file/broker.sqlite3", key: .testing)
            }
            #expect(error?.code == .fileSystem)
            #expect(error?.description.contains(directory + "/file") == true)
        }
    }
}
