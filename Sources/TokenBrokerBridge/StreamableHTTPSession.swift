import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import TokenBrokerProtocol

/// One MCP session over the Streamable HTTP transport (2025-03-26 to 2026-07-28): each
/// host message is a POST; the answer is a JSON body, an SSE stream or 202. The session id
/// and negotiated protocol version go on every later request; a GET stream carries what
/// the server sends unasked; the session is deleted when the host leaves.
actor StreamableHTTPSession {
    private let upstream: UpstreamHTTP
    private let url: String
    private let output: HostOutput

    private var sessionID: String?
    private var protocolVersion: String?
    private var standaloneStream: Task<Void, Never>?
    private var reportedSessionGone = false

    /// How often a broken stream is resumed before the bridge gives up on it.
    static let resumptionAttempts = 3
    /// The wait before resuming when the server named none (`retry:`), in milliseconds.
    static let defaultReconnectionTime = 1000
    /// The longest `retry:` honoured, so a server cannot park a request for hours.
    static let maximumReconnectionTime = 30_000

    init(upstream: UpstreamHTTP, url: String, output: HostOutput) {
        self.upstream = upstream
        self.url = url
        self.output = output
    }

    /// What became of a POST that the caller may want to try on the old transport.
    enum Outcome: Sendable {
        /// Relayed: the host has its answers or errors.
        case relayed
        /// `initialize` got 400, 404 or 405 (2024-11-05 servers): the response, unread.
        case refusedInitialize(status: Int, body: [UInt8])
    }

    /// Relays `message` and writes its answers, or an error for each request in it.
    ///
    /// - Parameter mayFallBack: Return ``Outcome/refusedInitialize(status:body:)`` instead
    ///   of answering when `initialize` gets 400, 404 or 405.
    func relay(_ message: RelayedMessage, mayFallBack: Bool = false) async -> Outcome {
        var headers: [(name: String, value: String)] = [("Accept", "application/json, text/event-stream")]
        headers += message.routingHeaders(negotiatedProtocolVersion: protocolVersion)
        let sentSessionID = sessionID
        if let sentSessionID { headers.append(("Mcp-Session-Id", sentSessionID)) }
        let response: HTTPClientResponse
        do {
            response = try await upstream.send(.init(method: .POST, url: url, headers: headers, body: message.bytes))
        } catch {
            fail(message, error)
            return .relayed
        }
        let status = Int(response.status.code)
        if mayFallBack, message.method == "initialize", [400, 404, 405].contains(status) {
            let body = (try? await UpstreamHTTP.collect(response, limit: 1 << 20)) ?? []
            return .refusedInitialize(status: status, body: body)
        }
        guard (200..<300).contains(status) else {
            if status == 404, sentSessionID != nil {
                await UpstreamHTTP.discard(response)
                sessionGone(message)
                return .relayed
            }
            let body = (try? await UpstreamHTTP.collect(response, limit: 1 << 20)) ?? []
            answerRefusal(status: status, body: body, for: message)
            return .relayed
        }
        if message.method == "initialize", sessionID == nil,
            let id = response.headers.first(name: "Mcp-Session-Id"), Self.isValidSessionID(id)
        {
            sessionID = id
        }
        // Once the handshake is through, the server may send unasked on the GET stream.
        defer { if message.method == "notifications/initialized" { openStandaloneStream() } }
        let awaited = message.requestIDs
        switch UpstreamHTTP.mediaType(response) {
        case "text/event-stream":
            await readStream(response, awaiting: awaited)
        case "application/json":
            let body: [UInt8]
            do {
                body = try await UpstreamHTTP.collect(response)
            } catch {
                fail(message, error)
                return .relayed
            }
            // A server may answer a notification with an empty 200; only requests wait.
            guard !awaited.isEmpty || !body.isEmpty else { return .relayed }
            guard let answer = try? RelayedMessage(bytes: body) else {
                fail(message, .malformedAnswer("a body that is not JSON-RPC"))
                return .relayed
            }
            deliver(answer)
            let missing = awaited.filter { !answer.answeredIDs.contains($0) }
            for id in missing { output.write(errorFor: id, failure: .malformedAnswer("no answer for this request in the body")) }
        default:
            await UpstreamHTTP.discard(response)
            if !awaited.isEmpty {
                fail(message, .malformedAnswer("content type \(response.headers.first(name: "Content-Type") ?? "none")"))
            }
        }
        return .relayed
    }

    /// Answers `message` after a refusal that the caller decided not to fall back from.
    func answerRefusal(status: Int, body: [UInt8], for message: RelayedMessage) {
        let ids = message.requestIDs
        // A single request refused with a JSON-RPC error (a version the server does not
        // speak, an unknown method) gets that error: hosts negotiate on its code.
        if ids.count == 1, let error = try? JSONValue(parsing: body), let object = error["error"], object.objectValue != nil,
            error["id"].map({ $0.isNull || $0 == ids[0] }) ?? true
        {
            let answer: JSONValue = ["jsonrpc": "2.0", "id": ids[0], "error": object]
            output.write(message: answer.serialized())
            return
        }
        let detail = (try? JSONValue(parsing: body))?["error"]?["message"]?.stringValue
        fail(message, .status(status, detail: detail.map { String($0.prefix(200)) }))
    }

    /// Deletes the session at the server (the host has left).
    func close() async {
        standaloneStream?.cancel()
        standaloneStream = nil
        guard let sessionID else { return }
        var headers: [(name: String, value: String)] = [("Mcp-Session-Id", sessionID)]
        if let protocolVersion { headers.append(("MCP-Protocol-Version", protocolVersion)) }
        if let response = try? await upstream.send(
            .init(method: .DELETE, url: url, headers: headers, deadline: .now() + .seconds(5)))
        {
            await UpstreamHTTP.discard(response)
        }
        self.sessionID = nil
    }

    // MARK: Streams

    /// Reads an SSE answer until every awaited id is answered; resumes a broken stream
    /// from its last event ID (`retry:` honoured), else errors the ids still unanswered.
    private func readStream(_ first: HTTPClientResponse, awaiting ids: [JSONValue]) async {
        var pending = ids
        var parser = EventStreamParser()
        var response = first
        var attempts = 0
        while true {
            let ended = await read(response, with: &parser) { answer in
                pending.removeAll { answer.answeredIDs.contains($0) }
                return !ids.isEmpty && pending.isEmpty
            }
            if pending.isEmpty { return }
            guard !parser.lastEventID.isEmpty, attempts < Self.resumptionAttempts, !Task.isCancelled else {
                for id in pending { output.write(errorFor: id, failure: ended ?? .streamEnded) }
                return
            }
            attempts += 1
            try? await Task.sleep(for: .milliseconds(reconnectionDelay(parser)))
            guard let resumed = await resume(from: parser.lastEventID) else {
                for id in pending { output.write(errorFor: id, failure: .streamEnded) }
                return
            }
            response = resumed
        }
    }

    /// Delivers the events of `response` until it ends or `isDone` says so.
    /// - Returns: Why the stream stopped early, or `nil` when it ended or was done.
    private func read(
        _ response: HTTPClientResponse, with parser: inout EventStreamParser, isDone: (RelayedMessage) -> Bool
    ) async -> BridgeFailure? {
        do {
            for try await chunk in response.body {
                for event in try parser.append(chunk.readableBytesView) {
                    guard event.type == "message", !event.data.isEmpty else { continue }  // a priming event has no data
                    guard let message = try? RelayedMessage(bytes: event.data) else {
                        output.diagnose("ignored an event from the server that is not JSON-RPC")
                        continue
                    }
                    deliver(message)
                    if isDone(message) { return nil }
                }
            }
            return nil
        } catch let error as EventStreamError {
            return .malformedAnswer(error.description)
        } catch {
            return .unreachable(UpstreamHTTP.describe(error))
        }
    }

    private func resume(from lastEventID: String) async -> HTTPClientResponse? {
        guard let response = try? await upstream.send(.init(method: .GET, url: url, headers: streamHeaders(lastEventID))) else {
            return nil
        }
        guard response.status.code == 200, UpstreamHTTP.mediaType(response) == "text/event-stream" else {
            await UpstreamHTTP.discard(response)
            return nil
        }
        return response
    }

    private func streamHeaders(_ lastEventID: String) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("Accept", "text/event-stream")]
        if let sessionID { headers.append(("Mcp-Session-Id", sessionID)) }
        if let protocolVersion { headers.append(("MCP-Protocol-Version", protocolVersion)) }
        if !lastEventID.isEmpty { headers.append(("Last-Event-ID", lastEventID)) }
        return headers
    }

    private func reconnectionDelay(_ parser: EventStreamParser) -> Int {
        min(parser.reconnectionTime ?? Self.defaultReconnectionTime, Self.maximumReconnectionTime)
    }

    /// The GET stream for what the server sends unasked; 405 means it offers none.
    private func openStandaloneStream() {
        guard standaloneStream == nil else { return }
        standaloneStream = Task { await self.followStandaloneStream() }
    }

    private func followStandaloneStream() async {
        var parser = EventStreamParser()
        var failures = 0
        while !Task.isCancelled {
            guard let response = try? await upstream.send(.init(method: .GET, url: url, headers: streamHeaders(parser.lastEventID)))
            else {
                failures += 1
                if failures > Self.resumptionAttempts { return }
                try? await Task.sleep(for: .milliseconds(reconnectionDelay(parser)))
                continue
            }
            guard response.status.code == 200, UpstreamHTTP.mediaType(response) == "text/event-stream" else {
                // 405: the server offers no stream; anything else: it will not, this session.
                await UpstreamHTTP.discard(response)
                return
            }
            var delivered = false
            _ = await read(response, with: &parser) { _ in
                delivered = true
                return false
            }
            failures = delivered ? 0 : failures + 1
            if failures > Self.resumptionAttempts || Task.isCancelled { return }
            try? await Task.sleep(for: .milliseconds(reconnectionDelay(parser)))
        }
    }

    // MARK: Answers

    private func deliver(_ message: RelayedMessage) {
        if protocolVersion == nil, let version = message.negotiatedProtocolVersion { protocolVersion = version }
        output.write(message: message.bytes)
    }

    private func fail(_ message: RelayedMessage, _ failure: BridgeFailure) {
        let ids = message.requestIDs
        for id in ids { output.write(errorFor: id, failure: failure) }
        if ids.isEmpty { output.diagnose("could not relay \(message.method ?? "a response"): \(failure.message)") }
    }

    private func sessionGone(_ message: RelayedMessage) {
        if !reportedSessionGone {
            reportedSessionGone = true
            output.diagnose("the server dropped the MCP session (HTTP 404); restart this server in your MCP host")
        }
        fail(message, .sessionGone)
    }

    /// A session id is visible ASCII (0x21-0x7E), so it can go back in a header unchanged.
    static func isValidSessionID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 1024 && id.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E }
    }
}
