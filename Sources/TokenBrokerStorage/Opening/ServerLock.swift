#if canImport(Glibc)
internal import Glibc
#endif

/// The exclusive claim of one ``BrokerStore`` to serve a database file.
///
/// An advisory `flock` on a sidecar file (`<database>.lock`), not on the database
/// itself: SQLite uses POSIX locks on the database, and the two must not interfere.
/// `flock` locks belong to the open file description, so a second open in the same
/// process is refused just like one from another process, and the kernel drops the
/// lock when the holder dies, even by SIGKILL: a stale lock file is never a problem.
struct ServerLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock or throws ``StorageError/Code/alreadyServing``.
    ///
    /// - Parameter databasePath: The database the lock protects; it names the error.
    init(databasePath: String) throws(StorageError) {
        let lockPath = DatabaseFiles.lockPath(forDatabaseAt: databasePath)
        let descriptor = try DatabaseFiles.openRegularFile(lockPath)
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK {
                throw .alreadyServing(path: databasePath)
            }
            throw .fileSystem("lock", path: lockPath, errno: code)
        }
        self.descriptor = descriptor
    }

    /// Releases the lock. Call once.
    func release() {
        // Unlock explicitly: a child process spawned at this moment may briefly share
        // the open file description (until its exec closes the O_CLOEXEC descriptor),
        // and then closing ours alone would not drop the lock.
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
