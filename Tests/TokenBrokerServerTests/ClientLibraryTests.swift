import Foundation
import Testing
import TokenBrokerClient
import TokenBrokerProtocol
@testable import TokenBrokerServer
import TokenBrokerTestKit

/// `TokenBrokerClient`'s async API against a real daemon on a real socket, with the fake
/// authorization and MCP server behind it: what an MCP client that links the library sees.
@Suite(.timeLimit(.minutes(2)))
struct ClientLibraryTests {
    static let read = "files:read"
    static let write = "files:write"

    @Test func tokensGrantsRevokeAndInfo() async throws {
        try await Scenario.run { s in
            let broker = BrokerClient(socketPath: s.daemon.socketPath, application: "library-tests")
            let first = try await broker.token(for: s.fake.resource, scopes: [Self.read])
            #expect(first.scopes == [Self.read])
            #expect(first.resource == s.fake.resource)
            #expect(first.issuer == s.fake.issuer)
            let again = try await broker.token(for: s.fake.resource, scopes: [Self.read])
            #expect(again.accessToken == first.accessToken)
            #expect(s.browser.openedURLs.count == 1)

            let grants = try await broker.grants()
            #expect(grants.map(\.resource) == [s.fake.resource])
            #expect(grants.first?.grantedScopes == [Self.read])

            let info = try await broker.info()
            #expect(info.socket == s.daemon.socketPath)
            #expect(info.protocolVersion == BrokerProtocol.version)

            let revoked = try await broker.revoke(resource: s.fake.resource)
            #expect(revoked.map(\.resource) == [s.fake.resource])
            #expect(try await broker.grants().first?.hasAccessToken == false)
            #expect(try await broker.revokeAll().isEmpty == false)
        }
    }

    @Test func aChallengeStepsUpToTheUnion() async throws {
        try await Scenario.run({ $0.requiredScopes = [Self.write] }) { s in
            let broker = BrokerClient(socketPath: s.daemon.socketPath)
            let first = try await broker.token(for: s.fake.resource, scopes: [Self.read])
            let forbidden = try await s.browser.callResource(s.fake.resource, token: first.accessToken.exposedValue)
            #expect(forbidden.status == 403)
            let steppedUp = try await broker.token(
                for: s.fake.resource, afterChallenge: forbidden.challenge, status: 403,
                rejectedToken: first.accessToken.exposedValue)
            #expect(steppedUp.scopes == [Self.read, Self.write])
            #expect(steppedUp.accessToken != first.accessToken)
        }
    }

    @Test func aPendingSignInIsReportedWithItsURL() async throws {
        try await Scenario.run(browser: .manual()) { s in
            let broker = BrokerClient(socketPath: s.daemon.socketPath)
            let pending = EventLog<AuthorizationPendingParams>()
            let request = Task {
                try await broker.token(for: s.fake.resource, scopes: [Self.read]) { pending.append($0) }
            }
            let notice = try #require(await pending.wait(forCount: 1).first)
            #expect(notice.resource == s.fake.resource)
            #expect(notice.scopes == [Self.read])
            #expect(s.browser.openedURLs == [notice.authorizationURL])
            try await s.browser.follow(notice.authorizationURL)
            #expect(try await request.value.scopes == [Self.read])
        }
    }

    @Test func failuresAreTypedErrors() async throws {
        try await Scenario.run(browser: .manual()) { s in
            let broker = BrokerClient(socketPath: s.daemon.socketPath)
            await #expect(throws: BrokerClientError.self) {
                _ = try await broker.token(for: "https://mcp.example.com/mcp#fragment")
            }
            do throws(BrokerClientError) {
                _ = try await broker.token(for: s.fake.resource, interactive: false)
                Issue.record("a token without a sign-in")
            } catch {
                #expect(error.reason == .authorizationRequired)
            }

            let nowhere = BrokerClient(socketPath: s.directory.path + "/no-daemon-here")
            do throws(BrokerClientError) {
                _ = try await nowhere.info()
                Issue.record("an answer from no daemon")
            } catch {
                #expect(error == .daemonNotRunning(path: s.directory.path + "/no-daemon-here"))
                #expect(error.description.contains("systemctl --user start tokenbroker.socket"))
            }
        }
    }

    /// Cancelling a task that waits for a person ends its call at once; the sign-in goes
    /// on for whoever asks next.
    @Test func cancellingAWaitingCallEndsIt() async throws {
        try await Scenario.run(browser: .manual()) { s in
            let broker = BrokerClient(socketPath: s.daemon.socketPath)
            let request = Task { try await broker.token(for: s.fake.resource, scopes: [Self.read]) }
            let url = try #require(await s.browser.opened.wait(forCount: 1).first)
            request.cancel()
            await #expect(throws: BrokerClientError.self) { try await request.value }

            let next = Task { try await broker.token(for: s.fake.resource, scopes: [Self.read]) }
            try await s.browser.follow(url)
            #expect(try await next.value.scopes == [Self.read])
            #expect(s.fake.requests(to: "/authorize").count == 1)
        }
    }

    @Test func withBrokerClientFindsTheSocketInTheEnvironment() async throws {
        try await Scenario.run { s in
            let token = try await withBrokerClient(
                environment: ["TOKENBROKER_SOCKET": s.daemon.socketPath], application: "scoped"
            ) { broker in
                #expect(broker.socketPath == s.daemon.socketPath)
                return try await broker.token(for: s.fake.resource)
            }
            #expect(token.resource == s.fake.resource)
            let explicit = try await withBrokerClient(socketPath: s.daemon.socketPath) { try await $0.info() }
            #expect(explicit.socket == s.daemon.socketPath)
        }
    }

    /// A cache hit is logged in memory and written in batches; stopping the daemon (a
    /// shutdown cancels its tasks) writes what is pending, and the next daemon lists it.
    @Test func theAuditLogSurvivesAShutdown() async throws {
        try await Scenario.run { s in
            let broker = BrokerClient(socketPath: s.daemon.socketPath, application: "audited")
            _ = try await broker.token(for: s.fake.resource)
            _ = try await broker.token(for: s.fake.resource)
            try await s.restart()
            let reply = try await s.client.call(.auditList)
            let entries = try AuditListResult(jsonValue: try #require(reply.response.result)).entries
            #expect(entries.contains { $0.application == "audited" && $0.method == "token/get" && $0.outcome == "served" })
        }
    }

    /// The event loop answers cache hits and `broker/info` itself; a request that waits
    /// for a sign-in on the same connection holds neither up.
    @Test func cacheHitsOvertakeASignInOnTheSameConnection() async throws {
        try await Scenario.run { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            s.browser.setAutoFollow { _ in false }
            let lines = [
                #"{"jsonrpc":"2.0","id":1,"method":"token/get","params":{"resource":"\#(s.fake.resource)","scopes":["\#(Self.write)"]}}"#,
                #"{"jsonrpc":"2.0","id":2,"method":"token/get","params":{"resource":"\#(s.fake.resource)","scopes":["\#(Self.read)"]}}"#,
                #"{"jsonrpc":"2.0","id":3,"method":"broker/info"}"#,
                #"not json"#,
            ]
            let exchange = Task { try await s.client.exchange(raw: Array(lines.map { $0 + "\n" }.joined().utf8)) }
            let url = try #require(await s.browser.opened.wait(forCount: 2).last)
            try await s.browser.follow(url)
            let answers = try await exchange.value.map { try BrokerMessage(line: Array($0.utf8)) }
            let ids: [JSONRPCID?] = answers.compactMap {
                if case .response(let response) = $0 { return response.id }
                return nil
            }
            // The unparseable line's answer has id null; the sign-in's comes last.
            #expect(ids == [.integer(2), .integer(3), nil, .integer(1)])
        }
    }
}
