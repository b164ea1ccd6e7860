#if canImport(Glibc)
internal import Glibc
#endif
internal import GRDB

/// Why the broker's database could not be opened, read or written.
///
/// ``description`` is a sentence a person can act on. It names paths, issuers and
/// resource URIs, never a token, a client secret or a PKCE verifier: SQLite errors are
/// reported without their statement arguments (GRDB's default, kept on purpose).
/// Match on ``code``; the message may be reworded.
package struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure: a small, stable set that callers can switch on.
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case alreadyServing = "already_serving"
            case newerSchema = "newer_schema"
            case fileSystem = "file_system"
            case notADatabase = "not_a_database"
            case missingReference = "missing_reference"
            case duplicate
            case constraintViolation = "constraint_violation"
            case unreadableValue = "unreadable_value"
            case keyFile = "key_file"
            case wrongKey = "wrong_key"
            case unwritable
            case closed
            case cancelled
            case database
        }

        private let value: Value

        private init(_ value: Value) {
            self.value = value
        }

        /// Another process, or another ``BrokerStore`` in this one, already serves the database.
        package static let alreadyServing = Code(.alreadyServing)
        /// The database was migrated by a newer tokenbroker; it was left untouched.
        package static let newerSchema = Code(.newerSchema)
        /// A directory or file could not be created, opened, locked or given its mode.
        package static let fileSystem = Code(.fileSystem)
        /// The file exists but is not a SQLite database (or is damaged beyond reading).
        package static let notADatabase = Code(.notADatabase)
        /// A record refers to a resource or authorization server that is not stored.
        package static let missingReference = Code(.missingReference)
        /// A record with the same key already exists where a new one was required.
        package static let duplicate = Code(.duplicate)
        /// A value breaks a rule of the schema (empty identifier, invalid JSON, bad PKCE verifier length…).
        package static let constraintViolation = Code(.constraintViolation)
        /// A stored value could not be read back as its Swift type.
        package static let unreadableValue = Code(.unreadableValue)
        /// The key file is missing where one is needed, unreadable, too open, or malformed.
        package static let keyFile = Code(.keyFile)
        /// The key does not open the database's sealed secrets.
        package static let wrongKey = Code(.wrongKey)
        /// The disk is full or the database is read-only: nothing can be written now.
        package static let unwritable = Code(.unwritable)
        /// The store was closed.
        package static let closed = Code(.closed)
        /// The task was cancelled before the database operation ran.
        package static let cancelled = Code(.cancelled)
        /// Any other SQLite failure (I/O error, busy beyond the timeout…).
        package static let database = Code(.database)

        /// The stable snake_case name of the code, for logs.
        package var description: String { value.rawValue }
    }

    /// What went wrong, for programs.
    package let code: Code
    /// What went wrong and what to do about it, for people.
    package let description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    // MARK: Opening

    static func alreadyServing(path: String) -> StorageError {
        StorageError(
            .alreadyServing, "another tokenbrokerd is already serving this database (\(path)); stop it first")
    }

    static func newerSchema(path: String, unknownMigrations: [String]) -> StorageError {
        StorageError(
            .newerSchema,
            "the database \(path) was written by a newer tokenbroker (unknown schema migrations: "
                + unknownMigrations.joined(separator: ", ")
                + "); it was left untouched: upgrade tokenbroker, or use another database with --database")
    }

    static func fileSystem(_ action: String, path: String, errno code: Int32) -> StorageError {
        StorageError(.fileSystem, "could not \(action) \(path): \(String(cString: strerror(code)))")
    }

    static func notRegularFile(path: String) -> StorageError {
        StorageError(.fileSystem, "\(path) is not a regular file; point --database at a file path")
    }

    static let closedStore = StorageError(
        .closed, "the broker database was closed; this is a bug in the caller (an operation after close())")

    static func keyFile(path: String, _ problem: String) -> StorageError {
        StorageError(.keyFile, "the key file \(path) \(problem)")
    }

    static func wrongKey(path: String) -> StorageError {
        StorageError(
            .wrongKey,
            "the secrets in the database \(path) were sealed with another key; it was left untouched")
    }

    static func cannotOpen(_ column: String) -> StorageError {
        StorageError(
            .wrongKey,
            "a sealed value in \(column) does not open with this key: another key sealed it, or it was altered")
    }

    static func unreadable(_ column: String, _ reason: String) -> StorageError {
        StorageError(
            .unreadableValue,
            "the stored value of \(column) cannot be read (\(reason)); "
                + "the database was edited by hand or is damaged")
    }

    // MARK: Translating errors thrown while accessing the database

    /// Wraps any error thrown inside a database access, naming the operation that failed.
    ///
    /// - Parameters:
    ///   - error: What GRDB, SQLite or the store threw.
    ///   - action: The operation in words ("save the grant for … at …"), not secret.
    init(_ error: any Error, while action: String) {
        switch error {
        case let error as StorageError:
            self = error
        case is CancellationError:
            self.init(.cancelled, "could not \(action): the task was cancelled")
        case let error as DatabaseError:
            self.init(error, while: action)
        default:
            // Only our own code and GRDB throw in here; show the type, not a payload.
            self.init(.database, "could not \(action): unexpected \(type(of: error))")
        }
    }

    private init(_ error: DatabaseError, while action: String) {
        // `message` is SQLite's own text: names of tables, columns and constraints,
        // never the bound values.
        let sqliteMessage = error.message ?? "\(error.resultCode)"
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_FOREIGNKEY:
            self.init(
                .missingReference,
                "could not \(action): it refers to a resource or authorization server that is not stored "
                    + "(save the protected resource metadata and the authorization server metadata first)")
        case .SQLITE_CONSTRAINT_PRIMARYKEY, .SQLITE_CONSTRAINT_UNIQUE:
            self.init(
                .duplicate, "could not \(action): a record with the same key already exists (\(sqliteMessage))")
        case .SQLITE_CONSTRAINT_CHECK, .SQLITE_CONSTRAINT_NOTNULL:
            self.init(
                .constraintViolation, "could not \(action): a value breaks a rule of the schema (\(sqliteMessage))")
        default:
            switch error.resultCode {
            case .SQLITE_NOTADB, .SQLITE_CORRUPT:
                self.init(
                    .notADatabase,
                    "could not \(action): the file is not a tokenbroker database or is damaged (\(sqliteMessage)); "
                        + "move it aside to start afresh")
            case .SQLITE_FULL, .SQLITE_READONLY:
                self.init(
                    .unwritable,
                    "could not \(action): the database cannot be written (\(error.resultCode == .SQLITE_FULL ? "the disk is full" : "it is read-only")); "
                        + "free space or make it writable, tokens already held are served meanwhile")
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                self.init(
                    .database,
                    "could not \(action): the database stayed locked by another connection (\(sqliteMessage))")
            default:
                self.init(.database, "could not \(action): SQLite error \(error.resultCode.rawValue): \(sqliteMessage)")
            }
        }
    }
}
