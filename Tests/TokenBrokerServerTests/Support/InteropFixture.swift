import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The repository root, found from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
    }
    return FileManager.default.currentDirectoryPath
}()

/// The python of the interop venv (`scripts/interop-venv.sh`), from `TOKENBROKER_INTEROP_PYTHON`.
let interopPython: String? = {
    guard let path = ProcessInfo.processInfo.environment["TOKENBROKER_INTEROP_PYTHON"], !path.isEmpty else { return nil }
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
}()

/// The real MCP Python SDK authorization + resource server (`Tests/Interop/mcp_sdk_fixture.py`).
final class MCPSDKFixture: Sendable {
    let fixture: FixtureProcess
    let authorizationServer: String
    let resource: String
    let http: HTTPClient

    struct Handshake: Decodable {
        var `as`: String
        var rs: String
        var prm: String
    }

    init(arguments: [String] = []) async throws {
        guard let python = interopPython else { throw UnexpectedError(description: "TOKENBROKER_INTEROP_PYTHON is not set") }
        let handshake: Handshake
        (fixture, handshake) = try await FixtureProcess.start(
            python, [repositoryRoot + "/Tests/Interop/mcp_sdk_fixture.py"] + arguments, handshake: Handshake.self)
        authorizationServer = handshake.as
        resource = handshake.rs
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// `GET /_test/stats`: request counts at the authorization server.
    func stats() async throws -> [String: Int] {
        let response = try await http.execute(HTTPClientRequest(url: authorizationServer + "/_test/stats"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return try JSONDecoder().decode([String: Int].self, from: Data(body.readableBytesView))
    }

    /// `GET /_test/log`: every request the authorization server received (no secrets).
    func log() async throws -> [[String: JSONAny]] {
        let response = try await http.execute(HTTPClientRequest(url: authorizationServer + "/_test/log"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 8 << 20)
        return try JSONDecoder().decode([[String: JSONAny]].self, from: Data(body.readableBytesView))
    }

    func stop() async {
        await fixture.stop(terminate: true)
        try? await http.shutdown()
    }
}

/// Any JSON value, for reading fixture logs.
enum JSONAny: Decodable, Equatable {
    case string(String), number(Double), bool(Bool), array([JSONAny]), object([String: JSONAny]), null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONAny].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONAny].self)) }
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// A minimal MCP client over streamable HTTP, enough to call tools with a bearer token.
final class MCPTestClient: Sendable {
    let endpoint: String
    let http: HTTPClient

    struct Answer {
        var status: Int
        var wwwAuthenticate: [String]
        var body: String
        var sessionID: String?

        /// The challenge as `token/get` wants it: header lines joined with ", ".
        var challenge: String { wwwAuthenticate.joined(separator: ", ") }
    }

    init(endpoint: String) {
        self.endpoint = endpoint
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func post(_ json: String, token: String?, session: String? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        request.headers.add(name: "MCP-Protocol-Version", value: "2025-11-25")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let session { request.headers.add(name: "Mcp-Session-Id", value: session) }
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Answer(
            status: Int(response.status.code), wwwAuthenticate: response.headers["WWW-Authenticate"],
            body: String(buffer: body), sessionID: response.headers.first(name: "Mcp-Session-Id"))
    }

    /// `initialize` + `notifications/initialized`; returns the session id on success.
    func initialize(token: String?) async throws -> Answer {
        let answer = try await post(
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"tokenbroker-tests","version":"1"}}}"#,
            token: token)
        if answer.status == 200, let session = answer.sessionID {
            _ = try await post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, token: token, session: session)
        }
        return answer
    }

    func callTool(_ name: String, token: String?, session: String?) async throws -> Answer {
        try await post(
            #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"\#(name)","arguments":{}}}"#, token: token,
            session: session)
    }

    func shutdown() async {
        try? await http.shutdown()
    }
}
