internal import AsyncHTTPClient
internal import Foundation
internal import Logging
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import TokenBrokerCore

/// An HTTP answer, body bounded.
struct HTTPAnswer: Sendable {
    var status: Int
    var body: Data
    var contentType: String?
}

/// The broker's only way out to the network: OAuth metadata, registration, token and
/// revocation requests. Every URL passes the transport policy first; redirects are not
/// followed (a metadata or token endpoint that redirects is refused rather than
/// trusted); bodies are capped.
struct OAuthHTTPClient: Sendable {
    let client: HTTPClient
    let policy: TransportPolicy
    let logger: Logger
    /// One deadline for a whole exchange, from connecting to the body's last byte: a
    /// server that trickles its answer is cut off here, not by the idle read timeout.
    var requestTimeout: TimeAmount = .seconds(30)
    /// The most private address class a host resolves to (``AddressResolver``); tests
    /// inject names.
    var addressClass: @Sendable (String) async -> AddressClass? = AddressResolver.mostPrivateClass(of:)

    /// Larger than any metadata or token response; a hostile server cannot exhaust memory.
    static let maximumBodySize = 1 << 20

    /// Makes a client with the broker's settings: no redirects, bounded connect time.
    static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(30))
        configuration.decompression = .disabled
        // A refused connection fails at once: retrying until the connect timeout made a
        // request for a server that is down take 10 s to fail.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// GETs `url`, learned for the resource the client named as `resource`.
    func get(_ url: HTTPURL, for resource: HTTPURL) async throws(BrokerFailure) -> HTTPAnswer {
        var request = HTTPClientRequest(url: url.string)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        return try await send(request, to: url, for: resource)
    }

    /// POSTs a form. A 5xx is `upstream_unavailable` (a retry can help), unless
    /// `serverErrorIsAnswer`: the code exchange ends its sign-in whatever the status,
    /// so it classifies the 5xx itself.
    func post(
        _ form: OAuthFormPost, for resource: HTTPURL, serverErrorIsAnswer: Bool = false
    ) async throws(BrokerFailure) -> HTTPAnswer {
        var request = HTTPClientRequest(url: form.url.string)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        if let authorization = form.authorization {
            request.headers.add(name: "Authorization", value: authorization.exposedValue)
        }
        request.body = .bytes(ByteBuffer(string: form.body.exposedValue))
        return try await send(request, to: form.url, for: resource, serverErrorIsAnswer: serverErrorIsAnswer)
    }

    func postJSON(_ url: HTTPURL, body: Data, for resource: HTTPURL) async throws(BrokerFailure) -> HTTPAnswer {
        var request = HTTPClientRequest(url: url.string)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await send(request, to: url, for: resource)
    }

    private func send(
        _ request: HTTPClientRequest, to url: HTTPURL, for resource: HTTPURL, serverErrorIsAnswer: Bool = false
    ) async throws(BrokerFailure) -> HTTPAnswer {
        do {
            try policy.check(url)
        } catch {
            throw .discovery("\(url.origin + url.path) \(error)")
        }
        let endpoint = url.origin + url.path
        // AsyncHTTPClient parses the string again (Foundation's URL): it must reach the
        // host and port the policy checked, not whatever another parser makes of it.
        guard Self.connectsTo(url, request.url) else {
            throw .discovery("\(endpoint) is read differently by the HTTP client; refusing to contact it")
        }
        do {
            let answer = try await Self.within(requestTimeout) { [self] in
                // Name resolution counts toward the deadline too (a resolver can hang).
                try await checkAddressClass(of: url, for: resource)
                try Task.checkCancellation()
                // The client's own deadline ends with the head; `within` also covers the body.
                let response = try await client.execute(request, timeout: requestTimeout)
                let buffer = try await response.body.collect(upTo: Self.maximumBodySize)
                return HTTPAnswer(
                    status: Int(response.status.code), body: Data(buffer.readableBytesView),
                    contentType: response.headers.first(name: "Content-Type"))
            }
            logger.debug(
                "oauth http", metadata: ["url": "\(endpoint)", "method": "\(request.method.rawValue)", "status": "\(answer.status)"])
            if answer.status >= 500, !serverErrorIsAnswer {
                throw BrokerFailure.upstream("\(endpoint) answered HTTP \(answer.status); try again later")
            }
            return answer
        } catch let failure as BrokerFailure {
            throw failure
        } catch let error where error is ExchangeDeadlineExceeded || (error as? HTTPClientError) == .deadlineExceeded {
            throw .upstream("\(endpoint) did not answer within \(requestTimeout.nanoseconds / 1_000_000_000) s; try again later")
        } catch is NIOTooManyBytesError {
            throw .upstream("\(endpoint) sent more than \(Self.maximumBodySize) bytes; refusing the response")
        } catch {
            logger.info("oauth http failed", metadata: ["url": "\(endpoint)", "error": "\(type(of: error))"])
            throw .upstream("could not reach \(url.origin): \(Self.describe(error))")
        }
    }

    /// The SSRF rule: a URL learned from metadata reaches no more private address class
    /// than the resource the client named (a resource that does not resolve counts as
    /// public, the strictest), except at hosts the operator listed (`private_hosts`).
    /// Checked on the names before connecting; the HTTP client resolves again, so a name
    /// that changes its answer in between is not caught.
    private func checkAddressClass(of url: HTTPURL, for resource: HTTPURL) async throws(BrokerFailure) {
        guard let target = await addressClass(url.host) else { return }  // fails to connect anyway
        let named = url.host == resource.host ? target : (await addressClass(resource.host) ?? .publicNetwork)
        guard policy.allowsMetadataTarget(host: url.host, target, forResourceOf: named) else {
            logger.warning("refusing a URL learned from metadata", metadata: ["url": "\(url.origin)", "class": "\(target)"])
            throw .discovery(
                "\(url.origin + url.path) resolves to \(target), more private than the resource \(resource.origin) (\(named)); refusing to contact it")
        }
    }

    /// Whether Foundation's reading of `string` (what the HTTP client connects to) names
    /// the scheme, host and port of the validated `url`.
    static func connectsTo(_ url: HTTPURL, _ string: String) -> Bool {
        guard let parsed = URL(string: string), let scheme = parsed.scheme?.lowercased(),
            let host = parsed.host(percentEncoded: false)?.lowercased()
        else { return false }
        let expectedHost = url.host.hasPrefix("[") ? String(url.host.dropFirst().dropLast()) : url.host
        let bareHost = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        let defaultPort = scheme == "https" ? 443 : 80
        return scheme == url.scheme && bareHost == expectedHost && (parsed.port ?? defaultPort) == (url.port ?? defaultPort)
    }

    private struct ExchangeDeadlineExceeded: Error {}

    /// `work`, cancelled when `timeout` passes first.
    private static func within<Value: Sendable>(
        _ timeout: TimeAmount, _ work: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        try await withThrowingTaskGroup(of: Value.self) { group in
            group.addTask(operation: work)
            group.addTask {
                try await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                throw ExchangeDeadlineExceeded()
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// A short reason without URLs' queries or anything a server sent back.
    private static func describe(_ error: any Error) -> String {
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .connectTimeout: return "connection timed out"
            case .readTimeout, .deadlineExceeded: return "no answer in time"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: return "HTTP client error"
            }
        }
        if let connectError = error as? NIOConnectionError,
            connectError.connectionErrors.contains(where: { ($0.error as? IOError)?.errnoCode == ECONNREFUSED })
        {
            return "connection refused"
        }
        if let ioError = error as? IOError, ioError.errnoCode == ECONNREFUSED { return "connection refused" }
        return "connection failed"
    }
}
