import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Testing
import TokenBrokerCore
import TokenBrokerProtocol
@testable import TokenBrokerServer

import NIOPosix

/// The HTTP client connects only where the validated URL says: a string another parser
/// reads as a different host or port is refused.
@Suite struct OAuthHTTPClientTests {
    @Test(arguments: [
        ("https://as.example/token", "https://as.example/token", true),
        ("https://as.example:8443/token", "https://as.example:8443/token", true),
        ("http://[::1]:8080/token", "http://[::1]:8080/token", true),
        ("https://AS.example/token", "https://as.example/token", true),
        ("https://as.example/token", "https://evil.example/token", false),
        ("https://as.example/token", "https://as.example:444/token", false),
        ("https://as.example/token", "http://as.example/token", false),
        ("https://as.example/token", "not a url at all", false),
    ])
    func theClientReachesTheValidatedHost(validated: String, sent: String, agrees: Bool) throws {
        #expect(OAuthHTTPClient.connectsTo(try HTTPURL(parsing: validated), sent) == agrees)
    }
}

/// Deadlines: a server that is down fails at once, one that trickles within the deadline.
@Suite(.timeLimit(.minutes(1))) struct OAuthHTTPClientDeadlineTests {
    private static func withClient(
        timeout: TimeAmount = .seconds(30), _ body: (OAuthHTTPClient) async throws -> Void
    ) async throws {
        let client = OAuthHTTPClient.makeHTTPClient()
        let http = OAuthHTTPClient(
            client: client, policy: TransportPolicy(allowsHTTPLoopback: true), logger: Logger(label: "test"),
            requestTimeout: timeout)
        do {
            try await body(http)
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    /// Connection refused is the answer, not a retry until the connect timeout.
    @Test func aServerThatIsDownIsReportedAsRefused() async throws {
        let port = try await StalledServer.closedPort()
        try await Self.withClient { http in
            await #expect {
                let url = try HTTPURL(parsing: "http://127.0.0.1:\(port)/.well-known/oauth-protected-resource")
                _ = try await http.get(url, for: url)
            } throws: { error in
                (error as? BrokerFailure)?.message.contains("connection refused") == true
            }
        }
    }

    /// Head at once, then a body that never ends: cut off at the exchange's deadline (the
    /// idle read timeout alone would wait forever for a server that sends a byte now and then).
    @Test func aTrickledBodyIsCutOffAtTheDeadline() async throws {
        let server = try await StalledServer.start(
            sending: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", trickling: true)
        try await Self.withClient(timeout: .milliseconds(200)) { http in
            await #expect {
                let url = try HTTPURL(parsing: "http://127.0.0.1:\(server.port)/metadata")
                _ = try await http.get(url, for: url)
            } throws: { error in
                let failure = error as? BrokerFailure
                return failure?.reason == .upstreamUnavailable && failure?.message.contains("did not answer within") == true
            }
        }
        await server.stop()
    }
}

/// A resolver that never answers is cut off by the same deadline as the exchange.
@Suite(.timeLimit(.minutes(1))) struct OAuthHTTPClientResolutionDeadlineTests {
    @Test func aHangingNameLookupEndsAtTheDeadline() async throws {
        let http = OAuthHTTPClient.makeHTTPClient()
        var client = OAuthHTTPClient(
            client: http, policy: TransportPolicy(allowsHTTPLoopback: true), logger: Logger(label: "test"),
            requestTimeout: .milliseconds(200))
        client.addressClass = { _ in await OneShot<AddressClass?>().value() ?? nil }  // never set
        let url = try HTTPURL(parsing: "https://as.example/.well-known/oauth-authorization-server")
        await #expect {
            _ = try await client.get(url, for: url)
        } throws: { error in
            (error as? BrokerFailure)?.message.contains("did not answer within") == true
        }
        try await http.shutdown()
    }
}

/// SSRF: a URL learned from a resource's metadata reaches no more private address class
/// than the resource, whatever the names resolve to; refused before a connection.
@Suite struct OAuthHTTPClientAddressClassTests {
    /// Names resolve as the test says; every other name does not resolve.
    private static func client(_ names: [String: AddressClass], _ http: HTTPClient) -> OAuthHTTPClient {
        var client = OAuthHTTPClient(client: http, policy: TransportPolicy(allowsHTTPLoopback: true), logger: Logger(label: "test"))
        client.addressClass = { names[$0] }
        return client
    }

    @Test(arguments: [
        ("public.example", "intranet.example", false),
        ("public.example", "localhost.example", false),
        ("public.example", "metadata.example", false),
        ("intranet.example", "localhost.example", false),
        ("public.example", "other-public.example", true),
        ("intranet.example", "public.example", true),
        ("localhost.example", "intranet.example", true),
        ("localhost.example", "metadata.example", false),
    ])
    func learnedURLsStayAsPublicAsTheResource(resource: String, target: String, allowed: Bool) async throws {
        let names: [String: AddressClass] = [
            "public.example": .publicNetwork, "other-public.example": .publicNetwork, "intranet.example": .privateNetwork,
            "localhost.example": .loopback, "metadata.example": .forbidden,
        ]
        let http = OAuthHTTPClient.makeHTTPClient()
        let client = Self.client(names, http)
        let resourceURL = try HTTPURL(parsing: "https://\(resource)/mcp")
        do {
            _ = try await client.get(try HTTPURL(parsing: "https://\(target)/.well-known/oauth-authorization-server"), for: resourceURL)
            Issue.record("no request can succeed: the names do not exist")
        } catch {
            let message = (error as? BrokerFailure)?.message ?? "\(error)"
            #expect(message.contains("more private than the resource") == !allowed, "\(message)")
        }
        try await http.shutdown()
    }

    /// The operator's `private_hosts` may be reached from a public resource; a forbidden
    /// address stays forbidden even when listed.
    @Test(arguments: [("intranet.example", true), ("Localhost.Example", true), ("metadata.example", false), ("other.example", false)])
    func listedPrivateHostsAreExceptions(target: String, allowed: Bool) async throws {
        let names: [String: AddressClass] = [
            "public.example": .publicNetwork, "intranet.example": .privateNetwork, "localhost.example": .loopback,
            "metadata.example": .forbidden, "other.example": .privateNetwork,
        ]
        let http = OAuthHTTPClient.makeHTTPClient()
        var client = OAuthHTTPClient(
            client: http,
            policy: TransportPolicy(
                allowsHTTPLoopback: true, privateHostExceptions: ["INTRANET.example", "localhost.example", "metadata.example"]),
            logger: Logger(label: "test"))
        client.addressClass = { names[$0.lowercased()] }
        do {
            _ = try await client.get(
                try HTTPURL(parsing: "https://\(target)/.well-known/oauth-authorization-server"),
                for: try HTTPURL(parsing: "https://public.example/mcp"))
            Issue.record("no request can succeed: the names do not exist")
        } catch {
            let message = (error as? BrokerFailure)?.message ?? "\(error)"
            #expect(message.contains("more private than the resource") == !allowed, "\(message)")
        }
        try await http.shutdown()
    }

    /// The real resolver: literals and localhost, by address class.
    @Test func theResolverClassifiesWhatANameReaches() async {
        #expect(await AddressResolver.mostPrivateClass(of: "127.0.0.1") == .loopback)
        #expect(await AddressResolver.mostPrivateClass(of: "[::1]") == .loopback)
        #expect(await AddressResolver.mostPrivateClass(of: "localhost") == .loopback)
        #expect(await AddressResolver.mostPrivateClass(of: "169.254.169.254") == .forbidden)
        #expect(await AddressResolver.mostPrivateClass(of: "10.1.2.3") == .privateNetwork)
        #expect(await AddressResolver.mostPrivateClass(of: "93.184.216.34") == .publicNetwork)
        #expect(await AddressResolver.mostPrivateClass(of: "no-such-host.invalid") == nil)
    }
}

/// A TCP server on 127.0.0.1 that answers every connection with the same bytes and then
/// says nothing more (or trickles) until the peer goes.
private final class StalledServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// A port nothing listens on (bound by a listener that is then closed).
    static func closedPort() async throws -> Int {
        let server = try await start(sending: "")
        let port = server.port
        try await server.channel.close()
        return port
    }

    /// With `trickling`, one more byte of the body every 20 ms (fault injection: the
    /// idle read timeout never fires).
    static func start(sending text: String, trickling: Bool = false) async throws -> StalledServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.writeAndFlush(ByteBuffer(string: text), promise: nil)
                if trickling {
                    let ticker = channel.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(20), delay: .milliseconds(20)) { _ in
                        channel.writeAndFlush(ByteBuffer(string: " "), promise: nil)
                    }
                    channel.closeFuture.whenComplete { _ in ticker.cancel() }
                }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return StalledServer(channel: channel)
    }

    func stop() async {
        try? await channel.close()
    }
}
