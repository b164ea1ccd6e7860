package import Foundation

// Browser sign-ins in progress.
extension BrokerStore {
    /// Records a sign-in that has started.
    ///
    /// - Parameter pending: The sign-in; its resource and issuer must be stored.
    /// - Throws: ``StorageError`` (``StorageError/Code/duplicate`` when the `state` is
    ///   already in use, ``StorageError/Code/constraintViolation`` for a PKCE verifier
    ///   outside 43…128 characters, ``StorageError/Code/missingReference``).
    package func keepSignIn(_ pending: StoredSignIn) async throws(StorageError) {
        try await write("record the sign-in started for \(pending.resource)") { try $0.insert(pending) }
    }

    /// Removes and returns the sign-in with this `state`, atomically: of two
    /// redirects carrying the same `state`, only one gets the record.
    ///
    /// - Parameter state: The `state` from the redirect.
    /// - Returns: The sign-in, or `nil` if no sign-in has this state (unknown, already
    ///   taken or expired).
    /// - Throws: ``StorageError``.
    package func takeSignIn(state: String) async throws(StorageError) -> StoredSignIn? {
        // The state comes from a browser redirect: it is not echoed into the message.
        try await write("take a pending sign-in") { try $0.takeSignIn(state: state) }
    }

    /// Every sign-in in progress, oldest first.
    ///
    /// - Returns: The sign-ins.
    /// - Throws: ``StorageError``.
    package func keptSignIns() async throws(StorageError) -> [StoredSignIn] {
        try await read("list the pending sign-ins") { try $0.keptSignIns() }
    }

    /// Deletes the sign-ins that started before `time` (abandoned ones).
    ///
    /// - Parameter time: The cut-off; sign-ins started at or after it stay.
    /// - Returns: How many were deleted.
    /// - Throws: ``StorageError``.
    @discardableResult
    package func deleteSignIns(startedBefore time: Date) async throws(StorageError) -> Int {
        try await write("delete expired sign-ins") { try $0.deleteSignIns(startedBefore: time) }
    }
}
