import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
import TokenBrokerProtocol
import TokenBrokerSystem
import TokenBrokerTestKit

/// `tokenbroker proxy` between the real MCP Python SDK client (`stdio_client` and
/// `ClientSession`, driven by `Tests/Interop/bridge_client.py`) and the real SDK server
/// fixture, with a real daemon: what a host such as Claude Desktop does through it.
@Suite(.serialized, .enabled(if: interopPython != nil, "set TOKENBROKER_INTEROP_PYTHON (scripts/interop-venv.sh)"))
struct BridgeInteropTests {
    /// The SDK server's modes: answers as SSE or JSON, with sessions or without.
    enum ServerMode: String, CaseIterable, CustomTestStringConvertible {
        case sseStateful, jsonStateful, sseStateless, jsonStateless

        var flags: [String] {
            switch self {
            case .sseStateful: []
            case .jsonStateful: ["--json-response"]
            case .sseStateless: ["--stateless"]
            case .jsonStateless: ["--json-response", "--stateless"]
            }
        }
        var streams: Bool { self == .sseStateful || self == .sseStateless }
        var stateful: Bool { self == .sseStateful || self == .jsonStateful }
        var testDescription: String { rawValue }
    }

    /// One run of the SDK client through a bridge.
    struct ClientRun {
        var outcome: JSONValue
        var stderr: String

        /// What each step gave, by step name (the last of a repeated one).
        func step(_ name: String) -> JSONValue? {
            outcome["steps"]?.arrayValue?.last { $0["step"]?.stringValue == name }
        }
        /// The joined text of a tool's result.
        func text(_ name: String) -> String? { step(name)?["result"]?["text"]?.stringValue }
        /// `data.reason` of a step's JSON-RPC error.
        func errorReason(_ name: String) -> String? { step(name)?["error"]?["data"]?["reason"]?.stringValue }
        var notificationMethods: [String] {
            outcome["notifications"]?.arrayValue?.compactMap { $0["method"]?.stringValue } ?? []
        }
    }

    /// A fixture, a test browser and a daemon, stopped whatever `body` does (a fixture
    /// dropped without stopping would trap the test process).
    static func withWorld(
        fixtureArguments: [String] = [], _ body: (MCPSDKFixture, ManualBrowser, TestDaemon) async throws -> Void
    ) async throws {
        let fixture = try await MCPSDKFixture(arguments: fixtureArguments)
        let browser = ManualBrowser()
        var daemon: TestDaemon?
        do {
            daemon = try await TestDaemon(browser: browser.launcher)
            try await body(fixture, browser, daemon!)
        } catch {
            await daemon?.stop()
            await browser.shutdown()
            await fixture.stop()
            throw error
        }
        await daemon?.stop()
        await browser.shutdown()
        await fixture.stop()
    }

    /// Runs `bridge_client.py` with `steps`, the bridge being `tokenbroker proxy URL arguments`.
    static func runClient(
        steps: [String], url: String, socket: String, bridgeArguments: [String] = [], waitNotifications: Int? = nil
    ) async throws -> ClientRun {
        let python = try #require(interopPython)
        let directory = try TemporaryDirectory()
        let stderrFile = directory.path + "/bridge.stderr"
        var arguments = [repositoryRoot + "/Tests/Interop/bridge_client.py", "--stderr-file", stderrFile, "--steps", steps.joined(separator: ",")]
        if let waitNotifications { arguments += ["--wait-notifications", String(waitNotifications)] }
        arguments += ["--", executable("tokenbroker"), "proxy", url, "--socket", socket] + bridgeArguments
        let client = try ChildProcess(executable: python, arguments: arguments, standardOutput: .pipe, standardError: .pipe)
        defer { client.send(signal: SIGKILL) }
        let stdout = try await offThePool { client.standardOutput!.readDataToEndOfFile() }
        let clientErrors = try await offThePool { String(decoding: client.standardError!.readDataToEndOfFile(), as: UTF8.self) }
        #expect(await client.wait() == .exited(0), "bridge_client.py: \(clientErrors)")
        let outcome = try JSONValue(parsing: Array(stdout))
        let stderr = (try? String(contentsOfFile: stderrFile, encoding: .utf8)) ?? ""
        return ClientRun(outcome: outcome, stderr: stderr)
    }

    /// initialize, tools/list, a tool needing files:read, one needing files:write (the
    /// step-up happens inside the bridge, the host sees only the result), a server
    /// notification, and the session deleted when the host leaves: in every server mode.
    @Test(arguments: ServerMode.allCases)
    func theSDKClientThroughTheBridge(mode: ServerMode) async throws {
        try await Self.withWorld(fixtureArguments: mode.flags) { fixture, browser, daemon in
            let run = try await Self.runClient(
                steps: ["initialize", "list", "read", "write", "notify"], url: fixture.resource, socket: daemon.socketPath,
                waitNotifications: mode.stateful ? 60 : nil)

            #expect(run.outcome["protocolVersion"]?.stringValue?.isEmpty == false)
            #expect(run.step("list")?["result"]?["tools"]?.arrayValue?.compactMap(\.stringValue).contains("read") == true)
            #expect(run.text("read") == "read-ok")
            #expect(run.text("write") == "write-ok")
            #expect(run.text("notify") == "notify-ok")
            // One sign-in per scope round, the second for the union.
            #expect(browser.openedURLs.count == 2)
            let authorizeScopes = try await fixture.log().filter { $0["path"]?.string == "/authorize" }.compactMap { $0["scope"]?.string }
            #expect(authorizeScopes == ["files:read", "files:read files:write"])
            #expect(run.stderr.contains("sign in to \(fixture.resource) in your browser"))

            // What the server saw: routing headers on every POST, the session on every request
            // after initialize, a DELETE at the end.
            let requests = try await fixture.resourceServerLog()
            let posts = requests.filter { $0["method"]?.string == "POST" && $0["status"] != .number(401) && $0["status"] != .number(403) }
            #expect(!posts.isEmpty)
            for post in posts {
                #expect(post["mcp_method"]?.string == post["rpc_method"]?.string)
                if post["rpc_method"]?.string == "tools/call" { #expect(post["mcp_name"]?.string?.isEmpty == false) }
                if post["rpc_method"]?.string != "initialize" { #expect(post["mcp_protocol_version"]?.string?.isEmpty == false) }
            }
            if mode.stateful {
                #expect(posts.filter { $0["rpc_method"]?.string != "initialize" }.allSatisfy { $0["has_session_id"] == .bool(true) })
                #expect(requests.contains { $0["method"]?.string == "DELETE" && $0["has_session_id"] == .bool(true) })
            } else {
                #expect(posts.allSatisfy { $0["has_session_id"] != .bool(true) })
            }
            // Notifications: the tool's log message rides its SSE answer; the list change comes
            // on the GET stream, which only a stateful server has.
            if mode.streams { #expect(run.notificationMethods.contains("notifications/message")) }
            if mode.stateful { #expect(run.notificationMethods.contains("notifications/tools/list_changed")) }

            // No token ever reaches stderr.
            let token = try await daemon.client().token(fixture.resource, scopes: ["files:write"]).tokenResult()
            #expect(!run.stderr.contains(token.accessToken.exposedValue))
        }
    }

    /// Two hosts starting together, each with its own bridge: one sign-in per scope round,
    /// one registration, and both get every answer.
    @Test func twoHostsAtOnceShareTheSignIns() async throws {
        try await Self.withWorld { fixture, browser, daemon in
            async let first = Self.runClient(steps: ["initialize", "read", "write"], url: fixture.resource, socket: daemon.socketPath)
            async let second = Self.runClient(steps: ["initialize", "read", "write"], url: fixture.resource, socket: daemon.socketPath)
            let runs = try await [first, second]
            for run in runs {
                #expect(run.text("read") == "read-ok")
                #expect(run.text("write") == "write-ok")
            }
            #expect(browser.openedURLs.count == 2)
            let stats = try await fixture.stats()
            #expect(stats["register"] == 1)
            #expect(stats["authorize"] == 2)
            #expect(stats["token_authorization_code"] == 2)
        }
    }

    /// A server that speaks only the 2024-11-05 HTTP+SSE transport: `initialize` is
    /// refused as a POST, and the bridge falls back.
    @Test func olderServersGetHTTPPlusSSE() async throws {
        try await Self.withWorld(fixtureArguments: ["--legacy-sse"]) { fixture, browser, daemon in
            let run = try await Self.runClient(
                steps: ["initialize", "list", "read", "write"], url: fixture.resource, socket: daemon.socketPath)
            #expect(run.text("read") == "read-ok")
            #expect(run.text("write") == "write-ok")
            #expect(run.stderr.contains("using HTTP+SSE"))
            #expect(browser.openedURLs.count == 2)
        }
    }

    /// A server that fails in every way: each failure is an error for that request, and
    /// the next request goes through.
    @Test func serverFaultsFailOneRequestEach() async throws {
        try await Self.withWorld { fixture, browser, daemon in
            let run = try await Self.runClient(
                steps: [
                "initialize", "fault-500", "read", "fault-garbage", "ping", "fault-cut", "read", "fault-resume", "fault-session",
                "ping",
            ],
                url: fixture.resource, socket: daemon.socketPath)
            #expect(run.errorReason("fault-500") == "server_error")
            #expect(run.step("fault-500")?["error"]?["data"]?["status"] == 500)
            #expect(run.errorReason("fault-garbage") == "malformed_answer")
            #expect(run.errorReason("fault-cut") == "stream_ended")
            #expect(run.errorReason("fault-session") == "session_gone")
            // A stream that breaks after an event with an id is resumed from it (GET with
            // Last-Event-ID, after the server's retry:), and the answer comes on the new one.
            #expect(run.text("fault-resume") == "resumed-ok")
            let resumptions = try await fixture.resourceServerLog().filter { $0["method"]?.string == "GET" && $0["last_event_id"] != .null }
            #expect(resumptions.compactMap { $0["last_event_id"]?.string } == ["resume-1"])
            #expect(run.text("read") == "read-ok")
            let steps = run.outcome["steps"]?.arrayValue ?? []
            #expect(steps.filter { $0["step"]?.stringValue == "ping" }.allSatisfy { $0["error"] == nil && $0["timeout"] == nil })
            #expect(run.stderr.components(separatedBy: "\n").filter { $0.contains("dropped the MCP session") }.count == 1)
            _ = browser
        }
    }
}

extension MCPSDKFixture {
    /// `GET /_test/rs-log`: every request the resource server received (no secrets).
    func resourceServerLog() async throws -> [[String: JSONAny]] {
        let response = try await http.execute(.init(url: authorizationServer + "/_test/rs-log"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 8 << 20)
        return try JSONDecoder().decode([[String: JSONAny]].self, from: Data(body.readableBytesView))
    }
}
