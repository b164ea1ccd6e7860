import Foundation

/// A temporary directory removed at the end of a test.
package final class TemporaryDirectory: Sendable {
    /// Its absolute path.
    package let path: String

    /// Creates an empty directory under the system's temporary directory.
    package init() throws {
        var template = Array((NSTemporaryDirectory() + "/tokenbroker-test-XXXXXX").utf8CString)
        guard let pointer = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: pointer)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` with a new empty directory's path; the directory is removed afterwards.
package func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let directory = try TemporaryDirectory()
    let result = try await body(directory.path)
    // Kept alive until here: its deinit removes the directory.
    withExtendedLifetime(directory) {}
    return result
}
