import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
@testable import TokenBrokerServer
import TokenBrokerTestKit

/// A browser stand-in the test steers: it records every URL the daemon asks it to open
/// and follows (GET the authorization URL, then GET its redirect, the callback) only
/// those its policy accepts; the others wait until the test calls ``follow(_:)``.
final class ManualBrowser: Sendable {
    let opened = EventLog<String>()
    private let policy: Mutex<@Sendable (String) -> Bool>
    private let client: HTTPClient

    /// - Parameter autoFollow: which URLs to follow at once; all by default.
    init(autoFollow: @escaping @Sendable (String) -> Bool = { _ in true }) {
        policy = Mutex(autoFollow)
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Never follows on its own.
    static func manual() -> ManualBrowser { ManualBrowser { _ in false } }

    func setAutoFollow(_ autoFollow: @escaping @Sendable (String) -> Bool) {
        policy.withLock { $0 = autoFollow }
    }

    var openedURLs: [String] { opened.items }

    var launcher: BrowserLauncher {
        .custom { [self] url in
            let follows = policy.withLock { $0 }(url)
            opened.append(url)
            if follows { Task { _ = try? await self.follow(url) } }
            return true
        }
    }

    /// What the person saw at the end: the callback page.
    struct Visit: Sendable {
        var callbackStatus: Int
        var callbackPage: String
    }

    /// GET the authorization URL, then GET wherever it redirects (the daemon's callback,
    /// which answers once the code exchange finished).
    @discardableResult
    func follow(_ url: String) async throws -> Visit {
        let location = try await signIn(url)
        let callback = try await client.execute(HTTPClientRequest(url: location), timeout: .seconds(90))
        let page = try await callback.body.collect(upTo: 1 << 20)
        return Visit(callbackStatus: Int(callback.status.code), callbackPage: String(buffer: page))
    }

    /// GET the authorization URL only: the address the browser is sent back to, which a
    /// browser on another machine could not open (the person pastes it instead).
    func signIn(_ url: String) async throws -> String {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard let location = response.headers.first(name: "Location") else {
            throw UnexpectedError(description: "the authorization endpoint did not redirect (HTTP \(response.status.code))")
        }
        return location
    }

    /// A plain request to the fake MCP endpoint with a bearer token.
    func callResource(_ url: String, token: String?) async throws -> (status: Int, challenge: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(ByteBuffer(string: "{}"))
        let response = try await client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), response.headers["WWW-Authenticate"].joined(separator: ", "))
    }

    func shutdown() async {
        try? await client.shutdown()
    }
}

/// One log record as the daemon emitted it, rendered to text.
struct CapturedLog: Sendable {
    var level: Logger.Level
    var message: String
    /// Every metadata key and value, flattened, plus the error if any.
    var metadata: String
    var source: String

    var text: String { "\(level) \(message) \(metadata) \(source)" }
}

/// A swift-log handler that keeps every record in memory (no `LoggingSystem.bootstrap`).
struct CapturingLogHandler: LogHandler {
    let records: EventLog<CapturedLog>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(records: EventLog<CapturedLog>) {
        self.records = records
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        var rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.render($0.value))" }.joined(separator: " ")
        if let error = event.error { rendered += " error=\(String(reflecting: error))" }
        records.append(CapturedLog(level: event.level, message: event.message.description, metadata: rendered, source: event.source))
    }

    private static func render(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): "[" + values.map(render).joined(separator: ",") + "]"
        case .dictionary(let members): "{" + members.sorted { $0.key < $1.key }.map { "\($0.key)=\(render($0.value))" }.joined(separator: ",") + "}"
        }
    }
}
