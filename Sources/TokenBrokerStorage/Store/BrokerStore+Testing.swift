package import TokenBrokerCore
internal import GRDB

// Package-only hooks for the storage tests and the crash-test helper
// (`TokenBrokerStorageCrashWriter`). Not public: the daemon has no use for them.
extension BrokerStore {
    /// Runs several operations in one `IMMEDIATE` transaction, committed when `body` returns.
    package func withImmediateTransaction<T: Sendable>(
        _ body: @escaping @Sendable (BrokerTransaction) throws -> T
    ) async throws(StorageError) -> T {
        try await write("run a test transaction", body)
    }

    /// Stores many records in one transaction: test set-ups with thousands of grants.
    package func seed(
        servers: [StoredAuthorizationServer], resources: [StoredResource], grants: [Grant]
    ) async throws(StorageError) {
        try await write("seed the database") { transaction in
            for server in servers { try transaction.save(server) }
            for resource in resources { try transaction.save(resource) }
            for grant in grants { try transaction.save(grant) }
        }
    }

    /// The value of `PRAGMA <name>` on the writer connection.
    package func writerPragma(_ name: String) async throws(StorageError) -> String? {
        try await withWriterConnection("read PRAGMA \(name)") { try $0.pragma(name) }
    }

    /// Makes SQLite refuse every write on the writer connection (`PRAGMA query_only`), as
    /// a full disk or a read-only file system does, until called again with `false`:
    /// the storage-fault tests.
    package func refuseWrites(_ refuse: Bool) async throws(StorageError) {
        try await withWriterConnection("set query_only") { try $0.db.execute(sql: "PRAGMA query_only = \(refuse ? "ON" : "OFF")") }
    }

    /// `PRAGMA integrity_check`'s verdict: `ok`, or what is damaged.
    package func integrityCheck() async throws(StorageError) -> String {
        try await read("check the database's integrity") { try String.fetchAll($0.db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    /// The schema as SQLite records it.
    package func schemaDump() async throws(StorageError) -> [String] {
        try await read("read the schema") { try $0.schemaDump() }
    }

    /// The identifiers of the applied migrations.
    package func appliedMigrations() async throws(StorageError) -> Set<String> {
        try await read("read the applied migrations") { try $0.appliedMigrations() }
    }
}
