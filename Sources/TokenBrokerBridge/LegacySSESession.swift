import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import TokenBrokerProtocol

/// The 2024-11-05 HTTP+SSE transport: a GET stream whose first `endpoint` event names
/// where to POST; every answer comes on that stream.
actor LegacySSESession {
    private let upstream: UpstreamHTTP
    private let url: String
    private let output: HostOutput

    private var endpoint: String?
    private var stream: Task<Void, Never>?
    private var pending: [JSONValue] = []
    private var ended = false

    /// How long the server has to name its endpoint.
    static let endpointTimeout: Duration = .seconds(15)

    init(upstream: UpstreamHTTP, url: String, output: HostOutput) {
        self.upstream = upstream
        self.url = url
        self.output = output
    }

    /// Opens the stream and waits for its `endpoint` event.
    /// - Returns: Whether the server speaks this transport.
    func connect() async -> Bool {
        guard
            let response = try? await upstream.send(
                .init(method: .GET, url: url, headers: [("Accept", "text/event-stream")]))
        else { return false }
        guard response.status.code == 200, UpstreamHTTP.mediaType(response) == "text/event-stream" else {
            await UpstreamHTTP.discard(response)
            return false
        }
        let named = AsyncStream.makeStream(of: String?.self)
        stream = Task { await self.follow(response, announcing: named.continuation) }
        let deadline = Task {
            try? await Task.sleep(for: Self.endpointTimeout)
            named.continuation.yield(nil)
        }
        defer { deadline.cancel() }
        for await location in named.stream {
            guard let location, let endpoint = UpstreamHTTP.sameOrigin(location, from: url) else {
                if let location { output.diagnose("the server's SSE endpoint \(location) is on another origin; not sending the token there") }
                stream?.cancel()
                return false
            }
            self.endpoint = endpoint
            return true
        }
        return false
    }

    /// POSTs `message` to the endpoint; its answers arrive on the stream.
    func relay(_ message: RelayedMessage) async {
        guard let endpoint, !ended else {
            for id in message.requestIDs { output.write(errorFor: id, failure: .streamEnded) }
            return
        }
        pending += message.requestIDs
        let failure: BridgeFailure?
        do {
            let response = try await upstream.send(.init(method: .POST, url: endpoint, body: message.bytes))
            let status = Int(response.status.code)
            await UpstreamHTTP.discard(response)
            failure = (200..<300).contains(status) ? nil : .status(status, detail: nil)
        } catch {
            failure = error
        }
        guard let failure else { return }
        for id in message.requestIDs {
            pending.removeAll { $0 == id }
            output.write(errorFor: id, failure: failure)
        }
        if message.requestIDs.isEmpty { output.diagnose("could not relay \(message.method ?? "a response"): \(failure.message)") }
    }

    /// Ends the stream (the server's session ends with it).
    func close() {
        stream?.cancel()
    }

    private func follow(_ response: HTTPClientResponse, announcing endpoint: AsyncStream<String?>.Continuation) async {
        var parser = EventStreamParser()
        do {
            for try await chunk in response.body {
                for event in try parser.append(chunk.readableBytesView) {
                    if event.type == "endpoint" {
                        endpoint.yield(String(decoding: event.data, as: UTF8.self))
                        continue
                    }
                    guard event.type == "message", let message = try? RelayedMessage(bytes: event.data) else { continue }
                    output.write(message: message.bytes)
                    pending.removeAll { message.answeredIDs.contains($0) }
                }
            }
        } catch {}
        endpoint.yield(nil)
        ended = true
        guard !Task.isCancelled else { return }
        output.diagnose("the server closed its SSE stream; restart this server in your MCP host")
        for id in pending { output.write(errorFor: id, failure: .streamEnded) }
        pending = []
    }
}
