#if canImport(Glibc)
internal import Glibc
#endif

/// Prepares the directory and files of an on-disk database before SQLite sees them.
///
/// SQLite creates the `-wal` and `-shm` files with the mode of the database file,
/// so the database file must already be 0600 when SQLite first opens it; creating it
/// here, rather than letting SQLite create it under the process umask, is what keeps
/// tokens out of reach of other users.
enum DatabaseFiles {
    /// The mode of every file the store creates: owner read and write only.
    static let fileMode: mode_t = 0o600
    /// The mode of directories the store creates: owner only.
    static let directoryMode: mode_t = 0o700

    /// The sidecar lock file of the database at `path`.
    static func lockPath(forDatabaseAt path: String) -> String { path + ".lock" }

    /// Creates the missing directories above `path` with mode 0700.
    ///
    /// Directories that already exist keep their mode: they may be the person's own
    /// (`~/.local/state`), and the database file's own mode protects the data.
    static func createParentDirectories(of path: String) throws(StorageError) {
        var missing: [String] = []
        var directory = parent(of: path)
        while let current = directory, !exists(current) {
            missing.append(current)
            directory = parent(of: current)
        }
        for directory in missing.reversed() {
            if mkdir(directory, directoryMode) != 0, errno != EEXIST {
                throw .fileSystem("create the directory", path: directory, errno: errno)
            }
            // mkdir's mode is filtered by the umask; set it exactly.
            if chmod(directory, directoryMode) != 0 {
                throw .fileSystem("set mode 0700 on the directory", path: directory, errno: errno)
            }
        }
    }

    /// Creates the database file with mode 0600 if it is missing, and tightens the mode
    /// of an existing database file and of its `-wal` and `-shm` files to 0600.
    ///
    /// - Returns: Whether the database file holds any bytes (an empty file is new).
    static func prepareDatabaseFile(at path: String) throws(StorageError) -> Bool {
        let descriptor = try openRegularFile(path)
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw .fileSystem("inspect the database file", path: path, errno: errno)
        }
        for sidecar in [path + "-wal", path + "-shm"] {
            try tightenModeIfPresent(sidecar)
        }
        return status.st_size > 0
    }

    /// Opens (creating it 0600 if needed) a regular file and fixes a looser mode.
    ///
    /// - Returns: The open descriptor; the caller closes it.
    static func openRegularFile(_ path: String) throws(StorageError) -> Int32 {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, fileMode)
        guard descriptor >= 0 else {
            throw .fileSystem("open or create", path: path, errno: errno)
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let code = errno
            close(descriptor)
            throw .fileSystem("inspect", path: path, errno: code)
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw .notRegularFile(path: path)
        }
        if status.st_mode & 0o777 != fileMode, fchmod(descriptor, fileMode) != 0 {
            let code = errno
            close(descriptor)
            throw .fileSystem("set mode 0600 on", path: path, errno: code)
        }
        return descriptor
    }

    private static func tightenModeIfPresent(_ path: String) throws(StorageError) {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            if errno == ENOENT { return }
            throw .fileSystem("inspect", path: path, errno: errno)
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw .notRegularFile(path: path)
        }
        if status.st_mode & 0o777 != fileMode, chmod(path, fileMode) != 0 {
            throw .fileSystem("set mode 0600 on", path: path, errno: errno)
        }
    }

    private static func exists(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0
    }

    /// The directory part of `path`, or `nil` when there is none to create.
    private static func parent(of path: String) -> String? {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.last == "/" { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return nil }  // relative, in the working directory
        let parent = trimmed[..<slash]
        return parent.isEmpty ? nil : String(parent)  // "" means "/"
    }
}
