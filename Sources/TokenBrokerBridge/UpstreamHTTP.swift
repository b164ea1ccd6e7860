import AsyncHTTPClient
import NIOCore
import TokenBrokerClient
import NIOHTTP1

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// HTTP to the MCP server with the daemon's token: every request carries it, a 401 or 403
/// goes to the daemon with its challenge and the request is sent once more with the token
/// the daemon gives, and a redirect is followed only within the server's origin (where the
/// token belongs).
struct UpstreamHTTP: Sendable {
    let http: HTTPClient
    let tokens: BearerTokens
    /// `--header`s, sent with every request.
    let extraHeaders: [(name: String, value: String)]

    /// The most redirects followed for one request.
    static let redirectLimit = 5
    /// The most bytes read of a JSON answer or an error body.
    static let bodyLimit = 64 << 20

    struct Request: Sendable {
        var method: HTTPMethod
        var url: String
        var headers: [(name: String, value: String)] = []
        var body: [UInt8]? = nil
        /// When the whole exchange must be over; a tool call or a stream may take long.
        var deadline: NIODeadline = .distantFuture
    }

    /// Sends `request` and returns the response whose body the caller reads.
    func send(_ request: Request) async throws(BridgeFailure) -> HTTPClientResponse {
        var token = try await currentToken()
        var refused = false
        while true {
            let response = try await sendFollowingRedirects(request, token: token)
            let status = Int(response.status.code)
            guard status == 401 || status == 403 else { return response }
            guard !refused else {
                // The daemon's answer to the challenge was refused too: no loop.
                await Self.discard(response)
                throw .tokenRefused(status: status)
            }
            refused = true
            let challenge = response.headers["WWW-Authenticate"].joined(separator: ", ")
            await Self.discard(response)
            do {
                token = try await tokens.replacement(for: token, status: status, challenge: challenge)
            } catch {
                throw Self.brokerFailure(error)
            }
        }
    }

    private func currentToken() async throws(BridgeFailure) -> String {
        do {
            return try await tokens.token()
        } catch {
            throw Self.brokerFailure(error)
        }
    }

    static func brokerFailure(_ error: any Error) -> BridgeFailure {
        if let error = error as? BrokerClientError { return .broker(error) }
        if let error = error as? BridgeFailure { return error }
        return .broker(.protocolViolation("\(error)"))
    }

    private func sendFollowingRedirects(_ original: Request, token: String) async throws(BridgeFailure) -> HTTPClientResponse {
        var url = original.url
        for _ in 0...Self.redirectLimit {
            var request = HTTPClientRequest(url: url)
            request.method = original.method
            for header in extraHeaders { request.headers.add(name: header.name, value: header.value) }
            for header in original.headers { request.headers.replaceOrAdd(name: header.name, value: header.value) }
            request.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token)")
            if let body = original.body {
                request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, deadline: original.deadline)
            } catch {
                throw .unreachable(Self.describe(error))
            }
            guard [307, 308].contains(response.status.code), let location = response.headers.first(name: "Location") else {
                return response
            }
            await Self.discard(response)
            guard let next = Self.sameOrigin(location, from: url) else { throw .crossOriginRedirect(location) }
            url = next
        }
        throw .status(310, detail: "too many redirects")
    }

    /// `location` resolved against `base`, when it has the same scheme, host and port.
    static func sameOrigin(_ location: String, from base: String) -> String? {
        guard let baseURL = URL(string: base), let target = URL(string: location, relativeTo: baseURL)?.absoluteURL else {
            return nil
        }
        func origin(_ url: URL) -> (String, String, Int)? {
            guard let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased() else { return nil }
            return (scheme, host, url.port ?? (scheme == "https" ? 443 : 80))
        }
        guard let from = origin(baseURL), let to = origin(target), from == to else { return nil }
        return target.absoluteString
    }

    /// Reads a body of at most `limit` bytes.
    static func collect(_ response: HTTPClientResponse, limit: Int = bodyLimit) async throws(BridgeFailure) -> [UInt8] {
        do {
            let buffer = try await response.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw .malformedAnswer("the body is over \(limit) bytes")
        } catch {
            throw .unreachable(describe(error))
        }
    }

    /// Reads and drops a body we do not need (so the connection can be reused), bounded.
    static func discard(_ response: HTTPClientResponse) async {
        _ = try? await response.body.collect(upTo: 1 << 20)
    }

    /// An error as one line, without anything a request carried.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        if let error = error as? IOError { return error.description }
        if let error = error as? ChannelError { return "\(error)" }
        return String(describing: type(of: error))
    }

    /// The media type of a response, lowercased, without parameters.
    static func mediaType(_ response: HTTPClientResponse) -> String {
        let value = response.headers.first(name: "Content-Type") ?? ""
        let type = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return String(type.filter { $0 != " " && $0 != "\t" }).lowercased()
    }
}
