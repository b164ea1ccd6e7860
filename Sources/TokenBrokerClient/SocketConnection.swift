#if canImport(Glibc)
import Glibc
#endif
internal import Synchronization
internal import TokenBrokerProtocol

/// One blocking connection to the daemon's socket, speaking lines.
///
/// Plain POSIX sockets: the client library needs no event loop, and a CLI that links
/// it starts in a few milliseconds.
final class SocketConnection: Sendable {
    private let descriptor: Mutex<Int32>

    /// Connects to `path`.
    init(path: String) throws(BrokerClientError) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connectionFailed(path: path, reason: SocketConnection.lastError()) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw .connectionFailed(path: path, reason: "the socket path is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            if code == ENOENT || code == ECONNREFUSED { throw .daemonNotRunning(path: path) }
            throw .connectionFailed(path: path, reason: SocketConnection.describe(code))
        }
        // The daemon must be ours: a socket another user put where ours should be (a
        // shared /tmp) gets no request, and so no resource URL or rejected token.
        var peer = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) == 0 else {
            close(fd)
            throw .connectionFailed(path: path, reason: "cannot tell who serves it (\(SocketConnection.lastError()))")
        }
        guard peer.uid == getuid() else {
            close(fd)
            throw .connectionFailed(path: path, reason: "it is served by uid \(peer.uid), not by you; nothing was sent")
        }
        descriptor = Mutex(fd)
    }

    deinit {
        descriptor.withLock { fd in
            if fd >= 0 { close(fd) }
        }
    }

    /// Sends a request and reads lines until its response, handing notifications to
    /// `onNotification` and, when given, calling `whileWaiting` about once a second
    /// while nothing arrives.
    func call(
        _ request: JSONRPCRequest, whileWaiting: (() -> Void)? = nil, onNotification: (JSONRPCNotification) -> Void
    ) throws(BrokerClientError) -> JSONRPCResponse {
        try write(request.encodedLine())
        var framer = LineFramer()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let fd = descriptor.withLock { $0 }
            if let whileWaiting {
                var readable = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&readable, 1, 1000)
                if ready == 0 {
                    whileWaiting()
                    continue
                }
                if ready < 0, errno == EINTR { continue }
            }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw .connectionClosed }
            for event in framer.append(buffer[0..<count]) {
                guard case .line(let line) = event else { throw .protocolViolation("the daemon sent a line over 1 MiB") }
                let message: BrokerMessage
                do {
                    message = try BrokerMessage(line: line)
                } catch {
                    throw .protocolViolation("the daemon sent an unreadable line: \(error)")
                }
                switch message {
                case .notification(let notification):
                    onNotification(notification)
                case .response(let response) where response.id == request.id:
                    return response
                case .response:
                    continue
                }
            }
        }
    }

    /// Unblocks a pending read (task cancellation).
    func interrupt() {
        descriptor.withLock { fd in
            _ = shutdown(fd, Int32(SHUT_RDWR))
        }
    }

    private func write(_ bytes: [UInt8]) throws(BrokerClientError) {
        var offset = 0
        let fd = descriptor.withLock { $0 }
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw .connectionClosed
            }
            offset += written
        }
    }

    private static func lastError() -> String { describe(errno) }

    private static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// `struct ucred` (SO_PEERCRED), which glibc declares only under _GNU_SOURCE: three
/// 32-bit fields, laid out as in C.
private struct PeerCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
