internal import Foundation
internal import TokenBrokerProtocol

#if canImport(Glibc)
internal import Glibc
#endif

/// Where the daemon's socket file lives, made safe before binding: the directory is ours
/// and no one else can swap the socket in it, and an existing socket is replaced only
/// when nothing listens on it (ssh-agent's habits).
enum SocketPlace {
    /// Why the socket's place was refused; the daemon does not start.
    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    /// Creates the socket's directory 0700, or checks the one that exists: not a symbolic
    /// link, ours (or root's with the sticky bit, like /tmp), and writable by no one else
    /// unless sticky. A directory the daemon did not create is never chmodded (`--socket
    /// ~/x.sock` must not change the home directory's mode). The shared-`/tmp` fallback
    /// (`/tmp/tokenbroker-$UID`) must be exactly ours with mode 0700.
    static func prepareDirectory(for path: String, userID: uid_t = getuid()) throws(Refusal) {
        let directory = (path as NSString).deletingLastPathComponent
        guard !directory.isEmpty else { return }
        var created = mkdir(directory, 0o700) == 0
        if !created, errno == ENOENT {
            // A missing parent (say $XDG_RUNTIME_DIR/…): create the chain, then ours.
            try? FileManager.default.createDirectory(
                atPath: (directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            created = mkdir(directory, 0o700) == 0
        }
        var info = stat()
        guard lstat(directory, &info) == 0 else {
            throw Refusal(description: "cannot use the socket directory \(directory): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT != S_IFLNK else {
            throw Refusal(description: "the socket directory \(directory) is a symbolic link; refusing to use it")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw Refusal(description: "\(directory) is not a directory; cannot put the socket there")
        }
        let sticky = info.st_mode & S_ISVTX != 0
        guard info.st_uid == userID || (info.st_uid == 0 && sticky) else {
            throw Refusal(description: "the socket directory \(directory) belongs to uid \(info.st_uid), not to you; refusing to use it")
        }
        guard info.st_mode & 0o022 == 0 || sticky else {
            throw Refusal(description: "others can write to the socket directory \(directory) and replace the socket; refusing to use it")
        }
        if created {
            // umask may have narrowed it; exactly 0700 for the directory we made.
            chmod(directory, 0o700)
        } else if directory == BrokerPaths.fallbackSocketDirectory(userID: userID), info.st_mode & 0o777 != 0o700 {
            throw Refusal(
                description: "\(directory) exists with mode \(String(info.st_mode & 0o777, radix: 8)), not 0700; it is not the daemon's, so remove it or set XDG_RUNTIME_DIR")
        }
    }

    /// Removes a stale socket file at `path` so it can be bound again; refuses when a
    /// daemon still answers there, or when the file is not a socket.
    static func clearStaleSocket(at path: String) throws(Refusal) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw Refusal(description: "\(path) exists and is not a socket; refusing to replace it")
        }
        guard isDead(path) else {
            throw Refusal(description: "another tokenbrokerd already serves \(path); stop it first, or give this one another --socket")
        }
        unlink(path)
    }

    /// A listening Unix socket at `path`, 0600 from birth (umask: no moment when others
    /// could connect), close-on-exec.
    static func bindListeningSocket(at path: String) throws(Refusal) -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Refusal(description: "cannot create a socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw Refusal(description: "the socket path \(path) is longer than a Unix socket path may be")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let previous = umask(0o177)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(previous)
        guard bound == 0, listen(descriptor, SOMAXCONN) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw Refusal(description: "cannot listen on \(path): \(reason)")
        }
        chmod(path, 0o600)
        return descriptor
    }

    /// Whether the socket at `path` is certainly dead: connecting is refused. A socket
    /// that answers, or one too busy to say (a full backlog), belongs to a live process.
    static func isDead(_ path: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return connected != 0 && errno == ECONNREFUSED
    }
}

/// The socket file this daemon created, by identity: at exit it removes that file and
/// nothing else (another daemon may have put its own socket there meanwhile).
struct OwnedSocketFile: Sendable {
    let path: String
    /// Device, inode and change time: an inode number alone is reused at once for the
    /// next file created, so a socket put there after ours was removed could match.
    private let identity: [Int64]

    init?(path: String) {
        guard let identity = Self.identity(of: path) else { return nil }
        self.path = path
        self.identity = identity
    }

    /// Unlinks the file if it is still the one this daemon created. Call it once the
    /// listener is closed: a socket that is not dead then is another daemon's (its file
    /// can even carry our inode number and, within a clock tick, our change time).
    func remove() {
        guard Self.identity(of: path) == identity, SocketPlace.isDead(path) else { return }
        unlink(path)
    }

    private static func identity(of path: String) -> [Int64]? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return [Int64(info.st_dev), Int64(info.st_ino), Int64(info.st_ctim.tv_sec), Int64(info.st_ctim.tv_nsec)]
    }
}
