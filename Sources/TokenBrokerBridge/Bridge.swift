package import TokenBrokerClient
import AsyncHTTPClient
import Dispatch
import NIOCore
import Synchronization
import TokenBrokerProtocol

#if canImport(Glibc)
import Glibc
#endif

/// `tokenbroker proxy`: a stdio MCP server that relays every message between the host
/// (stdin/stdout, one JSON-RPC message a line) and a remote MCP server over HTTP, with
/// every token from tokenbrokerd.
///
/// Ordering: until the host's `notifications/initialized` is through, and for every
/// notification and response, a message is relayed before the next is read, so the
/// server sees them in the host's order; requests after that run concurrently, so a long
/// tool call or a sign-in does not hold up a `ping`.
package struct Bridge: Sendable {
    /// Which HTTP transport to speak.
    package enum Transport: String, Sendable, CaseIterable {
        /// Streamable HTTP, falling back to HTTP+SSE when `initialize` gets 400, 404 or 405.
        case auto
        /// Streamable HTTP only (MCP 2025-03-26 and later).
        case streamableHTTP = "streamable-http"
        /// The 2024-11-05 HTTP+SSE transport only.
        case sse
    }

    /// What the bridge relays to.
    package struct Configuration: Sendable {
        /// The MCP server URL; also the resource whose tokens the daemon gives.
        package var url: String
        /// Scopes every token must cover.
        package var scopes: [String]
        /// Headers sent with every request (`--header`), never `Authorization`.
        package var headers: [(name: String, value: String)]
        /// The transport.
        package var transport: Transport
        /// The daemon.
        package var broker: BrokerClient

        /// A configuration.
        package init(
            url: String, scopes: [String] = [], headers: [(name: String, value: String)] = [], transport: Transport = .auto,
            broker: BrokerClient
        ) {
            self.url = url
            self.scopes = scopes
            self.headers = headers
            self.transport = transport
            self.broker = broker
        }
    }

    /// The longest message the host may send, in bytes.
    package static let maximumMessageSize = 64 << 20

    private let configuration: Configuration
    private let output: HostOutput

    /// A bridge writing to `output` (stdout and stderr by default).
    package init(configuration: Configuration, output: HostOutput = HostOutput()) {
        self.configuration = configuration
        self.output = output
    }

    /// Relays until the host closes `input` (stdin, 0), then deletes the session.
    package func run(input: Int32 = 0) async {
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.redirectConfiguration = .disallow  // followed by hand, same origin only
        httpConfiguration.timeout = .init(connect: .seconds(10))
        // Under uvicorn's 5 s keep-alive, where most Python MCP servers run: a POST on a
        // connection the server is closing fails with nothing to retry it safely.
        httpConfiguration.connectionPool = .init(idleTimeout: .seconds(4))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        let output = output
        let signIns = Mutex<Set<String>>([])
        let tokens = BearerTokens(
            broker: configuration.broker, resource: configuration.url, scopes: configuration.scopes
        ) { pending in
            guard signIns.withLock({ $0.insert(pending.authorizationURL).inserted }) else { return }
            output.diagnose(
                "sign in to \(pending.resource) in your browser (tokenbrokerd opened it; the host's request waits): \(pending.authorizationURL)")
        }
        let upstream = UpstreamHTTP(http: http, tokens: tokens, extraHeaders: configuration.headers)
        let relay = Relay(configuration: configuration, upstream: upstream, output: output)

        await withDiscardingTaskGroup { group in
            for await line in HostInput.lines(from: input, maximumLength: Self.maximumMessageSize) {
                let message: RelayedMessage
                switch line {
                case .oversized:
                    output.write(errorFor: .null, code: RPCErrorCode.invalidRequest.rawValue,
                        message: "Invalid request: a message over \(Self.maximumMessageSize) bytes")
                    continue
                case .line(let bytes):
                    do throws(MessageProblem) {
                        message = try RelayedMessage(bytes: bytes)
                    } catch {
                        Self.answer(error, output: output)
                        continue
                    }
                }
                if await relay.isConcurrent(message) {
                    group.addTask { await relay.relay(message) }
                } else {
                    await relay.relay(message)
                }
            }
            // The host has left: what it waited for no longer matters.
            group.cancelAll()
        }
        await relay.close()
        try? await http.shutdown()
    }

    private static func answer(_ problem: MessageProblem, output: HostOutput) {
        switch problem {
        case .notJSON(let error):
            output.write(errorFor: .null, code: RPCErrorCode.parseError.rawValue, message: "Parse error: \(error)")
        case .notJSONRPC(let problem, let id):
            output.write(errorFor: id ?? .null, code: RPCErrorCode.invalidRequest.rawValue, message: "Invalid request: \(problem)")
        }
    }
}

/// Which transport carries the messages, decided at the first one.
private actor Relay {
    private let configuration: Bridge.Configuration
    private let upstream: UpstreamHTTP
    private let output: HostOutput
    private var streamable: StreamableHTTPSession?
    private var legacy: LegacySSESession?
    private var initialized = false

    init(configuration: Bridge.Configuration, upstream: UpstreamHTTP, output: HostOutput) {
        self.configuration = configuration
        self.upstream = upstream
        self.output = output
    }

    /// Requests after the handshake run concurrently; everything else in order.
    func isConcurrent(_ message: RelayedMessage) -> Bool {
        if message.method == "notifications/initialized" { initialized = true }
        guard initialized, legacy == nil else { return false }
        if case .request = message.kind { return message.method != "initialize" }
        return false
    }

    func relay(_ message: RelayedMessage) async {
        if let legacy {
            await legacy.relay(message)
            return
        }
        if streamable == nil, configuration.transport == .sse {
            let session = LegacySSESession(upstream: upstream, url: configuration.url, output: output)
            guard await session.connect() else {
                failAll(message, .unreachable("no HTTP+SSE event stream at \(configuration.url)"))
                return
            }
            legacy = session
            await session.relay(message)
            return
        }
        let session = streamable ?? StreamableHTTPSession(upstream: upstream, url: configuration.url, output: output)
        streamable = session
        let outcome = await session.relay(message, mayFallBack: configuration.transport == .auto && legacy == nil)
        guard case .refusedInitialize(let status, let body) = outcome else { return }
        let fallback = LegacySSESession(upstream: upstream, url: configuration.url, output: output)
        if await fallback.connect() {
            output.diagnose("the server does not speak Streamable HTTP (HTTP \(status) to initialize); using HTTP+SSE (2024-11-05)")
            legacy = fallback
            await fallback.relay(message)
        } else {
            await session.answerRefusal(status: status, body: body, for: message)
        }
    }

    func close() async {
        await streamable?.close()
        await legacy?.close()
    }

    private func failAll(_ message: RelayedMessage, _ failure: BridgeFailure) {
        for id in message.requestIDs { output.write(errorFor: id, failure: failure) }
    }
}

/// The host's side of stdio: lines read on a thread of their own (a blocking read must not
/// hold one of the concurrency pool's few threads).
enum HostInput {
    enum Line: Sendable {
        case line([UInt8])
        case oversized
    }

    static func lines(from descriptor: Int32, maximumLength: Int) -> AsyncStream<Line> {
        let (stream, continuation) = AsyncStream.makeStream(of: Line.self)
        DispatchQueue(label: "tokenbroker.proxy.stdin").async {
            var framer = HostLineFramer(maximumLength: maximumLength)
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                for line in framer.append(buffer[..<count]) { continuation.yield(line) }
            }
            continuation.finish()
        }
        return stream
    }
}

/// Splits the host's input into lines; a line over the limit is reported once and skipped
/// to its end (unlike the daemon's framer, the bridge keeps serving after it).
struct HostLineFramer {
    let maximumLength: Int
    private var buffer: [UInt8] = []
    private var skipping = false

    init(maximumLength: Int) {
        self.maximumLength = maximumLength
    }

    mutating func append(_ chunk: ArraySlice<UInt8>) -> [HostInput.Line] {
        var lines: [HostInput.Line] = []
        var rest = chunk
        while !rest.isEmpty {
            let newline = rest.firstIndex(of: 0x0A)
            let piece = rest[..<(newline ?? rest.endIndex)]
            if !skipping {
                if buffer.count + piece.count > maximumLength {
                    skipping = true
                    buffer = []
                    lines.append(.oversized)
                } else {
                    buffer.append(contentsOf: piece)
                }
            }
            guard let newline else { break }
            if !skipping {
                if buffer.last == 0x0D { buffer.removeLast() }
                if !buffer.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { lines.append(.line(buffer)) }
            }
            buffer = []
            skipping = false
            rest = rest[(newline + 1)...]
        }
        return lines
    }
}
