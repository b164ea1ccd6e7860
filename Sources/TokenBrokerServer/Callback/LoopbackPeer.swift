internal import Foundation

#if canImport(Glibc)
internal import Glibc
#endif

/// Who is on the other end of a loopback TCP connection, from the kernel's socket
/// table (`/proc/net/tcp`): the uid that owns the peer's socket. TCP has no
/// `SO_PEERCRED`; the table is what `ss -e` reads too.
enum LoopbackPeer {
    /// The uid owning the socket bound to `127.0.0.1:peerPort` and connected to
    /// `127.0.0.1:localPort`, or `nil` when no such socket is in the table (it closed,
    /// or /proc is not readable).
    static func owner(peerPort: Int, localPort: Int, table: String = "/proc/net/tcp") -> UInt32? {
        guard let text = readProcFile(table) else { return nil }
        return owner(peerPort: peerPort, localPort: localPort, inTable: text)
    }

    /// Reads to the end: /proc files report a size of 0, so a read sized by `stat`
    /// (Foundation's) gets nothing. Bounded, so a huge table costs at most 16 MiB.
    private static func readProcFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < 16 << 20 {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk.prefix(count)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses the table's text; split out for tests.
    static func owner(peerPort: Int, localPort: Int, inTable text: String) -> UInt32? {
        // "  sl  local_address rem_address   st tx_queue:rx_queue tr:tm->when retrnsmt   uid ..."
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 7,
                let local = endpoint(fields[1]), let remote = endpoint(fields[2]),
                local.port == peerPort, remote.port == localPort,
                local.isLoopbackIPv4, remote.isLoopbackIPv4
            else { continue }
            return UInt32(fields[7])
        }
        return nil
    }

    private struct Endpoint {
        var address: UInt32
        var port: Int
        /// The kernel prints the address as the 32-bit value in host byte order, so its
        /// bytes in memory are the address's bytes in network order.
        var isLoopbackIPv4: Bool { withUnsafeBytes(of: address) { $0.first == 127 } }
    }

    private static func endpoint(_ field: Substring) -> Endpoint? {
        let parts = field.split(separator: ":")
        guard parts.count == 2, parts[0].count == 8, let address = UInt32(parts[0], radix: 16),
            let port = Int(parts[1], radix: 16)
        else { return nil }
        return Endpoint(address: address, port: port)
    }
}
