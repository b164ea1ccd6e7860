internal import GRDB
import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// The broker's durable state: one SQLite database per user, owned by one daemon.
///
/// Every operation is `async` and safe to call from any task or actor. Reads may run
/// in parallel; writes are serialized, and each public write is one `IMMEDIATE`
/// transaction, so it either happens completely or not at all, even if the process
/// is killed half-way.
///
/// ## Storage conventions
///
/// - Times are stored as whole unix seconds, rounded down: they round-trip exactly to
///   the second, and a sub-second part is dropped (an expiry never moves later).
/// - Scopes are stored space-delimited and come back in the same order.
/// - Resources are stored by their canonical URI (``ResourceURI/string``).
/// - Secrets (tokens, client secrets and registration responses, PKCE verifiers) are
///   sealed with a ``StorageKey`` kept outside the database, bound to their row and
///   column; the file is 0600 all the same. They never appear in an error message or a
///   record's description.
///
/// ### Opening and closing
/// - ``open(path:key:discardingUnopenableSecrets:)``
/// - ``inMemory(key:)``
/// - ``close()``
package final class BrokerStore: Sendable {
    /// The database file, or `nil` for an in-memory store.
    package let path: String?

    private let state: Mutex<State>
    private let sealer: SecretSealer

    private enum State {
        case open(any DatabaseWriter, ServerLock?)
        case closed
    }

    private init(path: String?, writer: any DatabaseWriter, lock: ServerLock?, sealer: SecretSealer) {
        self.path = path
        self.state = Mutex(.open(writer, lock))
        self.sealer = sealer
    }

    /// Opens (creating it if needed) the database at `path` and claims it for serving.
    ///
    /// In order: creates the missing parent directories 0700; takes the server lock
    /// (`<path>.lock`, 0600); creates the database file 0600 or tightens an existing
    /// one and its `-wal`/`-shm` files to 0600, all before SQLite opens it (SQLite gives
    /// the `-wal` and `-shm` files the database file's mode); refuses a database
    /// written by a newer tokenbroker without altering it; then opens it in WAL mode
    /// with `synchronous=FULL` (a rotated refresh token is on disk before the new access
    /// token is handed out), foreign keys on and a busy timeout, and applies the
    /// migrations this build knows.
    ///
    /// The lock is held until ``close()`` or until the store is deinitialized.
    ///
    /// Secrets written in the clear by an earlier version are sealed with `key`, and the
    /// database is then rewritten (`VACUUM`) so no page keeps them. A database whose
    /// secrets another key sealed is refused, untouched, unless
    /// `discardingUnopenableSecrets`: then its tokens, client registrations and sign-ins in
    /// progress are forgotten (scope history stays) and `key` seals from now on.
    ///
    /// - Parameters:
    ///   - path: The database file, e.g. `~/.local/state/tokenbroker/broker.sqlite3`, expanded.
    ///   - key: The key that seals the secrets.
    ///   - discardingUnopenableSecrets: Forget what another key sealed instead of refusing.
    /// - Returns: The open store.
    /// - Throws: ``StorageError`` with code ``StorageError/Code/alreadyServing`` when another
    ///   store serves this database, ``StorageError/Code/newerSchema`` when a newer
    ///   tokenbroker wrote it, ``StorageError/Code/wrongKey`` when `key` does not open
    ///   its secrets, ``StorageError/Code/fileSystem`` or
    ///   ``StorageError/Code/notADatabase`` when the files are unusable.
    package static func open(
        path: String, key: StorageKey, discardingUnopenableSecrets: Bool = false
    ) throws(StorageError) -> BrokerStore {
        let sealer = SecretSealer(key: key)
        try DatabaseFiles.createParentDirectories(of: path)
        let lock = try ServerLock(databasePath: path)
        var opened = false
        defer { if !opened { lock.release() } }

        if try DatabaseFiles.prepareDatabaseFile(at: path) {
            try refuseNewerSchema(path: path)
            if !discardingUnopenableSecrets { try refuseWrongKey(path: path, sealer) }
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB switches the writer to synchronous=NORMAL when it enables WAL,
            // after `prepareDatabase` ran: set FULL again on the one writer connection.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            let migrator = BrokerSchema.migrator(sealer: sealer)
            // On the writer: a reader connection left open would keep the close from
            // checkpointing the log.
            let sealedBefore = try pool.writeWithoutTransaction { db in
                try migrator.appliedIdentifiers(db).contains("v4-sealed-secrets")
            }
            try migrator.migrate(pool)
            try checkKey(pool, sealer, path: path, discarding: discardingUnopenableSecrets)
            if !sealedBefore {
                // The secrets were just sealed where they stood: rewrite the file, and
                // empty the log, so no free page or old page image keeps them in the clear.
                try pool.writeWithoutTransaction { db in
                    try db.execute(sql: "VACUUM")
                    try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                }
            }
        } catch {
            throw StorageError(error, while: "open the database \(path)")
        }
        opened = true
        return BrokerStore(path: path, writer: pool, lock: lock, sealer: sealer)
    }

    /// Refuses a key that does not open the database's secrets, or, when `discarding`,
    /// forgets those secrets and takes the key.
    private static func checkKey(_ writer: some DatabaseWriter, _ sealer: SecretSealer, path: String, discarding: Bool) throws {
        try writer.write { db in
            guard let stored = try String.fetchOne(db, sql: "SELECT sealed FROM key_check WHERE id = 1") else {
                try db.execute(sql: "INSERT INTO key_check (id, sealed) VALUES (1, ?)", arguments: [try sealer.sealKeyCheck()])
                return
            }
            if sealer.opensKeyCheck(stored) { return }
            guard discarding else { throw StorageError.wrongKey(path: path) }
            try db.execute(
                sql: """
                    UPDATE grants SET access_token = NULL, access_token_expires_at = NULL, refresh_token = NULL;
                    DELETE FROM client_registrations;
                    DELETE FROM retired_client_registrations;
                    DELETE FROM pending_authorizations;
                    """)
            try db.execute(sql: "UPDATE key_check SET sealed = ? WHERE id = 1", arguments: [try sealer.sealKeyCheck()])
        }
    }

    /// Throws ``StorageError/Code/wrongKey`` when the database's key check does not open
    /// with `sealer`'s key; like ``refuseNewerSchema(path:)``, before anything writes.
    private static func refuseWrongKey(path: String, _ sealer: SecretSealer) throws(StorageError) {
        if let stored = try storedKeyCheck(path: path), !sealer.opensKeyCheck(stored) { throw .wrongKey(path: path) }
    }

    /// Whether the database at `path` holds secrets sealed with some key: a missing key
    /// is then an error, not a reason to make a new one. Reads only; `false` for a
    /// missing or empty file.
    package static func holdsSealedSecrets(path: String) throws(StorageError) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0, status.st_size > 0 else { return false }
        return try storedKeyCheck(path: path) != nil
    }

    /// The database's sealed key check, read on a read-only connection of its own.
    private static func storedKeyCheck(path: String) throws(StorageError) -> String? {
        do {
            var configuration = configuration
            configuration.label = "tokenbroker.key-check"
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in
                try db.tableExists("key_check") ? try String.fetchOne(db, sql: "SELECT sealed FROM key_check WHERE id = 1") : nil
            }
        } catch {
            throw StorageError(error, while: "read the key check of \(path)")
        }
    }

    /// Opens a fresh in-memory database with the same schema, for tests.
    ///
    /// It takes no lock and vanishes when the store is closed or deinitialized.
    ///
    /// - Returns: The open store.
    /// - Throws: ``StorageError`` if SQLite cannot create it.
    package static func inMemory(key: StorageKey = .generate()) throws(StorageError) -> BrokerStore {
        do {
            let sealer = SecretSealer(key: key)
            let queue = try DatabaseQueue(configuration: configuration)
            try BrokerSchema.migrator(sealer: sealer).migrate(queue)
            try checkKey(queue, sealer, path: ":memory:", discarding: false)
            return BrokerStore(path: nil, writer: queue, lock: nil, sealer: sealer)
        } catch {
            throw StorageError(error, while: "create an in-memory database")
        }
    }

    /// Closes the database and releases the server lock, so another daemon may open it.
    ///
    /// Later operations throw ``StorageError/Code/closed``. Closing twice does nothing.
    ///
    /// - Throws: ``StorageError`` if SQLite fails to close the file cleanly; the lock is
    ///   released all the same.
    package func close() throws(StorageError) {
        let previous = state.withLock { state in
            defer { state = .closed }
            return state
        }
        guard case .open(let writer, let lock) = previous else { return }
        defer { lock?.release() }
        do {
            try writer.close()
        } catch {
            throw StorageError(error, while: "close the database")
        }
    }

    deinit {
        let previous = state.withLock { state in
            defer { state = .closed }
            return state
        }
        if case .open(let writer, let lock) = previous {
            // Close before unlocking, so that a successor never shares the file with us.
            try? writer.close()
            lock?.release()
        }
    }

    // MARK: Configuration

    private static var configuration: Configuration {
        var configuration = Configuration()
        configuration.label = "tokenbroker"
        configuration.foreignKeysEnabled = true
        // Only this store writes (the server lock sees to it); waits come from our own
        // readers and from a checkpoint, which are short.
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Deleted and overwritten content is zeroed, so a revoked or rotated token
            // does not stay readable in a page's free space.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        return configuration
    }

    /// Throws ``StorageError/Code/newerSchema`` if the database names a migration this
    /// build does not know.
    ///
    /// Runs on its own short-lived connection that only reads, before the pool opens:
    /// opening the pool would already write (it enables WAL mode and makes sure the WAL
    /// file is not empty), and a newer database must not be altered at all.
    private static func refuseNewerSchema(path: String) throws(StorageError) {
        let applied: Set<String>
        do {
            var configuration = configuration
            configuration.label = "tokenbroker.schema-check"
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            applied = try queue.read { db in
                try BrokerSchema.migrator(sealer: SecretSealer(key: .generate())).appliedIdentifiers(db)
            }
            try queue.close()
        } catch {
            throw StorageError(error, while: "read the schema version of \(path)")
        }
        let unknown = applied.subtracting(BrokerSchema.knownMigrations)
        if !unknown.isEmpty {
            throw .newerSchema(path: path, unknownMigrations: unknown.sorted())
        }
    }

    // MARK: Database access

    private func currentWriter() throws(StorageError) -> any DatabaseWriter {
        let writer: (any DatabaseWriter)? = state.withLock { state in
            if case .open(let writer, _) = state { return writer }
            return nil
        }
        guard let writer else { throw .closedStore }
        return writer
    }

    /// Runs `body` on a snapshot of the committed state.
    ///
    /// - Parameters:
    ///   - action: The operation in words, for error messages; never a secret.
    ///   - body: The reads.
    func read<T: Sendable>(
        _ action: @autoclosure () -> String,
        _ body: @escaping @Sendable (BrokerTransaction) throws -> T
    ) async throws(StorageError) -> T {
        let writer = try currentWriter()
        do {
            return try await writer.read { [sealer] db in try body(BrokerTransaction(db: db, sealer: sealer)) }
        } catch {
            throw StorageError(error, while: action())
        }
    }

    /// Runs `body` in one `IMMEDIATE` transaction: it commits if `body` returns, and
    /// rolls back if it throws.
    ///
    /// `IMMEDIATE` takes the write lock before the first read, so what `body` reads
    /// cannot change before it writes (the compare-and-swap rotation relies on it).
    ///
    /// - Parameters:
    ///   - action: The operation in words, for error messages; never a secret.
    ///   - body: The reads and writes.
    func write<T: Sendable>(
        _ action: @autoclosure () -> String,
        _ body: @escaping @Sendable (BrokerTransaction) throws -> T
    ) async throws(StorageError) -> T {
        let writer = try currentWriter()
        do {
            return try await writer.writeWithoutTransaction { [sealer] db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(BrokerTransaction(db: db, sealer: sealer))
                    return .commit
                }
                return result!
            }
        } catch {
            throw StorageError(error, while: action())
        }
    }

    /// Runs `body` on the writer connection, outside any transaction (for pragmas).
    func withWriterConnection<T: Sendable>(
        _ action: @autoclosure () -> String,
        _ body: @escaping @Sendable (BrokerTransaction) throws -> T
    ) async throws(StorageError) -> T {
        let writer = try currentWriter()
        do {
            return try await writer.writeWithoutTransaction { [sealer] db in try body(BrokerTransaction(db: db, sealer: sealer)) }
        } catch {
            throw StorageError(error, while: action())
        }
    }
}
