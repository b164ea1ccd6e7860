import Foundation

/// Whether any of `secrets` appears in the bytes of the SQLite database at `path` or of its
/// `-wal`, `-shm` and `-journal` files. A flag, not the bytes: a failing expectation on it
/// must not print what it found.
package func databaseFilesHold(_ secrets: [String], databaseAt path: String) -> Bool {
    let needles = secrets.filter { !$0.isEmpty }.map { Array($0.utf8) }
    return ["", "-wal", "-shm", "-journal"].contains { suffix in
        guard let bytes = FileManager.default.contents(atPath: path + suffix).map(Array.init) else { return false }
        return needles.contains { needle in bytes.indices.contains { bytes[$0...].starts(with: needle) } }
    }
}
