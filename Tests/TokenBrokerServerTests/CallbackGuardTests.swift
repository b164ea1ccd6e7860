import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerProtocol
@testable import TokenBrokerServer
import TokenBrokerTestKit

#if canImport(Glibc)
import Glibc
#endif

/// The loopback callback serves only the daemon's own user, one GET without a body for
/// 127.0.0.1, checks the response before the sign-in sees it, and cannot be held busy.
@Suite(.timeLimit(.minutes(2))) struct CallbackGuardTests {
    static let read = "files:read"

    /// A token/get waiting for a sign-in the test's browser signs in to without visiting
    /// the callback; returns the waiting request and the address the browser was sent to.
    private static func pendingSignIn(_ s: Scenario) async throws -> (Task<BrokerTestClient.Reply, any Error>, String) {
        let waiting = Task { try await s.client.token(s.fake.resource, scopes: [read]) }
        let url = try #require(await s.browser.opened.wait(forCount: 1).first)
        return (waiting, try await s.browser.signIn(url))
    }

    private static func port(of callback: String) throws -> Int {
        try #require(URLComponents(string: callback)?.port)
    }

    /// The table the kernel keeps names the uid on the other end of a real loopback
    /// connection; rows that are not loopback, or another pair of ports, do not count.
    @Test func theSocketTableNamesTheOwnerOfALoopbackConnection() throws {
        let listener = try TCPSocket.listening()
        defer { listener.close() }
        let client = try TCPSocket.connected(to: listener.port)
        defer { client.close() }
        #expect(LoopbackPeer.owner(peerPort: client.port, localPort: listener.port) == getuid())
        #expect(LoopbackPeer.owner(peerPort: listener.port, localPort: client.port) != nil)  // the accepted end, ours too
        #expect(LoopbackPeer.owner(peerPort: client.port, localPort: client.port) == nil)

        let table = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:A3F5 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
               1: 0A00000A:1F90 0100007F:A3F5 01 00000000:00000000 00:00000000 00000000  1001        0 2 1 0 20 0 0 10 -1
               2: 0100007F:1F90 0100007F:A3F5 01 00000000:00000000 00:00000000 00000000  1002        0 3 1 0 20 0 0 10 -1
            """
        #expect(LoopbackPeer.owner(peerPort: 0x1F90, localPort: 0xA3F5, inTable: table) == 1002)
        #expect(LoopbackPeer.owner(peerPort: 0xA3F5, localPort: 0x1F90, inTable: table) == nil)
    }

    /// Another local user's connection is closed before a byte is read: their response
    /// never reaches the sign-in, which still completes from the person's own paste.
    @Test func aConnectionFromAnotherUserIsRefusedAndTheSignInWaits() async throws {
        try await Scenario.run(browser: .manual(), callbackPolicy: CallbackPolicy(acceptedUID: getuid() &+ 1)) { s in
            let (waiting, callback) = try await Self.pendingSignIn(s)
            let answer = try await offThePool { try TCPSocket.exchange(port: try Self.port(of: callback), request: .get(callback)) }
            #expect(answer == "")
            #expect(s.fake.tokenRequests(grantType: "authorization_code").isEmpty)
            #expect(try await s.grants().grants.only?.pendingAuthorization != nil)

            let pasted = try await s.client.call(.authorizationComplete, AuthorizationCompleteParams(redirectURL: callback).jsonValue)
            #expect(pasted.response.error == nil)
            #expect(try await waiting.value.tokenResult().scopes == [Self.read])
        }
    }

    /// A request for another host (a web page that rebound its name to 127.0.0.1) or
    /// with a body is refused and ends nothing; the real response then signs in.
    @Test(arguments: ["wrongHost", "body"])
    func aRequestThatIsNotTheBrowsersIsRefused(_ kind: String) async throws {
        try await Scenario.run(browser: .manual()) { s in
            let (waiting, callback) = try await Self.pendingSignIn(s)
            let port = try Self.port(of: callback)
            let request: TCPSocket.Request =
                kind == "wrongHost" ? .get(callback, host: "rebound.example:\(port)") : .get(callback, body: "code=x")
            let answer = try await offThePool { try TCPSocket.exchange(port: port, request: request) }
            #expect(answer?.hasPrefix("HTTP/1.1 400") == true)
            #expect(s.fake.tokenRequests(grantType: "authorization_code").isEmpty)

            let good = try await offThePool { try TCPSocket.exchange(port: port, request: .get(callback)) }
            #expect(good?.hasPrefix("HTTP/1.1 200") == true)
            #expect(try await waiting.value.tokenResult().scopes == [Self.read])
        }
    }

    /// Mix-up (RFC 9700 §4.4): a registered client's responses come back on its
    /// authorization server's own path; one with a live `state` on another path is
    /// refused and its code goes nowhere, and the sign-in still completes on its own path.
    @Test func aResponseOnAnotherServersPathIsRefused() async throws {
        try await Scenario.run(browser: .manual()) { s in
            let (waiting, callback) = try await Self.pendingSignIn(s)
            let ownPath = LoopbackRedirect.path(forIssuer: s.fake.issuer)
            #expect(URLComponents(string: callback)?.path == ownPath)
            let registration = try #require(s.fake.requests(to: "/register").only)
            #expect(registration.body.replacingOccurrences(of: "\\/", with: "/").contains(ownPath))

            var elsewhere = try #require(URLComponents(string: callback))
            elsewhere.path = LoopbackRedirect.path(forIssuer: "https://attacker.example")
            let port = try Self.port(of: callback)
            let otherServers = try #require(elsewhere.string)
            let refused = try await offThePool { try TCPSocket.exchange(port: port, request: .get(otherServers)) }
            #expect(refused?.hasPrefix("HTTP/1.1 400") == true)
            elsewhere.path = LoopbackRedirect.sharedPath
            let sharedPath = try #require(elsewhere.string)
            let shared = try await offThePool { try TCPSocket.exchange(port: port, request: .get(sharedPath)) }
            #expect(shared?.hasPrefix("HTTP/1.1 400") == true)
            #expect(s.fake.tokenRequests(grantType: "authorization_code").isEmpty)

            let good = try await offThePool { try TCPSocket.exchange(port: port, request: .get(callback)) }
            #expect(good?.hasPrefix("HTTP/1.1 200") == true)
            #expect(try await waiting.value.tokenResult().scopes == [Self.read])
        }
    }

    /// Idle connections cannot use up the daemon's descriptors: past the cap a new one is
    /// closed at once, and one that sends no request in time is closed.
    @Test func idleConnectionsAreBoundedAndClosed() async throws {
        try await Scenario.run(browser: .manual(), callbackPolicy: CallbackPolicy(requestDeadline: 600, maximumConnections: 2)) { s in
            let (_, callback) = try await Self.pendingSignIn(s)
            let port = try Self.port(of: callback)
            // Three connections against a cap of two: one is closed unread (which one
            // depends on which event loop set it up first), the others are served.
            let connections = try (0..<3).map { _ in try TCPSocket.connected(to: port) }
            defer { connections.forEach { $0.close() } }
            var answers: [String?] = []
            for connection in connections {
                connection.send(TCPSocket.Request.get(callback).bytes)
                answers.append(try await offThePool { connection.readAll() })
            }
            #expect(answers.filter { $0 == "" }.count == 1)
            #expect(answers.filter { $0?.hasPrefix("HTTP/1.1 200") == true }.count == 1)
            #expect(answers.filter { $0?.hasPrefix("HTTP/1.1 400") == true }.count == 1)  // the response is used once
        }
        try await Scenario.run(browser: .manual(), callbackPolicy: CallbackPolicy(requestDeadline: 0.05)) { s in
            let (_, callback) = try await Self.pendingSignIn(s)
            let idle = try TCPSocket.connected(to: try Self.port(of: callback))
            defer { idle.close() }
            // Closed by the daemon, never answered (the read ends at its close).
            #expect(try await offThePool { idle.readAll() } == "")
            #expect(s.fake.tokenRequests(grantType: "authorization_code").isEmpty)
        }
    }
}

/// A blocking IPv4 loopback TCP socket, for requests the HTTP client would not send.
/// Use it off the cooperative pool.
private final class TCPSocket: @unchecked Sendable {
    let descriptor: Int32

    struct Request: Sendable {
        var bytes: [UInt8]

        static func get(_ url: String, host: String? = nil, body: String? = nil) -> Request {
            let parts = URLComponents(string: url)!
            let target = parts.percentEncodedPath + (parts.percentEncodedQuery.map { "?" + $0 } ?? "")
            var text = "GET \(target) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(parts.port!)")\r\nConnection: close\r\n"
            if let body { text += "Content-Length: \(body.utf8.count)\r\n\r\n\(body)" } else { text += "\r\n" }
            return Request(bytes: Array(text.utf8))
        }
    }

    private init(_ descriptor: Int32) {
        self.descriptor = descriptor
        // A daemon that never answers fails the test instead of blocking its thread forever.
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    private static func address(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        return address
    }

    static func listening() throws -> TCPSocket {
        let socket = TCPSocket(Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0))
        var address = address(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket.descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socket.descriptor, 4) == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
        return socket
    }

    static func connected(to port: Int) throws -> TCPSocket {
        let socket = TCPSocket(Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0))
        var address = address(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket.descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            socket.close()
            throw POSIXError(.ECONNREFUSED)
        }
        return socket
    }

    /// Connects, sends, and reads until the daemon closes: "" when it closed unanswered,
    /// `nil` when it neither answered nor closed.
    static func exchange(port: Int, request: Request) throws -> String? {
        let socket = try connected(to: port)
        defer { socket.close() }
        socket.send(request.bytes)
        return socket.readAll()
    }

    /// This socket's own port.
    var port: Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func send(_ bytes: [UInt8]) {
        var rest = bytes[...]
        while !rest.isEmpty {
            // MSG_NOSIGNAL: a connection the daemon closed must not SIGPIPE the tests.
            let written = rest.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { return }
            rest = rest.dropFirst(written)
        }
    }

    /// Everything until the peer closes (or resets); `nil` when 30 s pass without a byte.
    func readAll() -> String? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { return nil }  // ECONNRESET: closed
            guard count > 0 else { break }
            bytes += buffer.prefix(count)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func close() { Glibc.close(descriptor) }
}
