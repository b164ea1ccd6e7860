internal import Crypto
internal import Foundation
#if canImport(Glibc)
internal import Glibc
#endif

/// The key that seals the database's secrets: access and refresh tokens, client secrets
/// and registration responses, the PKCE verifiers of sign-ins in progress.
///
/// It lives outside the database (a key file, or a systemd credential), so a copy of the
/// database alone (a backup of `~/.local/state`, a synced home directory, a disk image)
/// opens no token. A key file holds the 32 bytes in base64 on one line, or raw.
package struct StorageKey: Sendable {
    let symmetricKey: SymmetricKey

    /// The key's length in bytes (ChaCha20-Poly1305 takes 256 bits).
    package static let byteCount = 32

    /// A key from its bytes; `nil` unless there are exactly ``byteCount``.
    package init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        symmetricKey = SymmetricKey(data: bytes)
    }

    /// A new random key.
    package static func generate() -> StorageKey {
        StorageKey(symmetricKey: SymmetricKey(size: .bits256))
    }

    private init(symmetricKey: SymmetricKey) {
        self.symmetricKey = symmetricKey
    }

    /// The key file's contents: the bytes in base64, then a newline.
    package var fileContents: String {
        symmetricKey.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
    }

    /// Reads the key at `path`; `nil` when no file is there.
    ///
    /// - Throws: ``StorageError`` (``StorageError/Code/keyFile``) when the file cannot be
    ///   read, is not the user's own regular file, can be read by others, or holds no key.
    package static func read(path: String) throws(StorageError) -> StorageKey? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT { return nil }
            throw .keyFile(path: path, "cannot be inspected: \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .keyFile(path: path, "is not a regular file") }
        // As ssh refuses a private key others can read. A systemd credential is the
        // service's own, 0400 or 0440 in a private directory: only "others" are refused.
        guard status.st_mode & 0o007 == 0 else {
            throw .keyFile(
                path: path, "can be read by others (mode \(String(status.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .keyFile(path: path, "cannot be read")
        }
        let raw = [UInt8](data)
        if let key = StorageKey(bytes: raw) { return key }
        let text = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let decoded = Data(base64Encoded: text), let key = StorageKey(bytes: [UInt8](decoded)) else {
            throw .keyFile(path: path, "holds no key: it must be \(byteCount) bytes, or their base64 on one line")
        }
        return key
    }

    /// Creates a new key file at `path`, mode 0600 (its missing directories 0700); fails
    /// rather than replace a file that appeared meanwhile.
    package static func create(path: String) throws(StorageError) -> StorageKey {
        try DatabaseFiles.createParentDirectories(of: path)
        let key = generate()
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw .keyFile(path: path, "cannot be created: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let bytes = Array(key.fileContents.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(descriptor) == 0 else {
            let code = errno
            unlink(path)
            throw .keyFile(path: path, "cannot be written: \(String(cString: strerror(code)))")
        }
        return key
    }
}
