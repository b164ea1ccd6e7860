package import Foundation

// The audit log: who asked for which token, and what happened.
extension BrokerStore {
    /// Appends a line to the audit log.
    ///
    /// - Parameter entry: The line; its `id` is ignored, the database assigns one.
    /// - Returns: The id of the new line.
    /// - Throws: ``StorageError``.
    @discardableResult
    package func appendAudit(_ entry: AuditEntry) async throws(StorageError) -> Int64 {
        try await write("append to the audit log") { try $0.appendAudit(entry) }
    }

    /// Appends several lines in one transaction (one sync to disk, not one per line).
    ///
    /// - Parameter entries: The lines, in order; their `id`s are ignored.
    /// - Throws: ``StorageError``.
    package func appendAudit(contentsOf entries: [AuditEntry]) async throws(StorageError) {
        guard !entries.isEmpty else { return }
        try await write("append to the audit log") { transaction in
            for entry in entries { _ = try transaction.appendAudit(entry) }
        }
    }

    /// The most recent lines of the audit log, newest first.
    ///
    /// - Parameter limit: At most this many lines.
    /// - Returns: The lines, with their ids.
    /// - Throws: ``StorageError``.
    package func recentAuditEntries(limit: Int) async throws(StorageError) -> [AuditEntry] {
        try await read("read the audit log") { try $0.recentAuditEntries(limit: limit) }
    }

    /// Deletes the audit lines older than `time`, to bound the log's size.
    ///
    /// - Parameter time: The cut-off; lines at or after it stay.
    /// - Returns: How many lines were deleted.
    /// - Throws: ``StorageError``.
    @discardableResult
    package func deleteAuditEntries(before time: Date) async throws(StorageError) -> Int {
        try await write("prune the audit log") { try $0.deleteAuditEntries(before: time) }
    }
}
