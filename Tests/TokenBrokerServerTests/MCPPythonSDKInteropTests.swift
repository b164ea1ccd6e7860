import Foundation
import Logging
import Testing
import TokenBrokerProtocol
import TokenBrokerTestKit

/// tokenbrokerd against the official MCP Python SDK (authorization server routes,
/// bearer middleware, protected resource metadata), started from `Tests/Interop`.
/// `.ci/run` provides the venv; without it these tests are skipped, visibly.
@Suite(.serialized, .enabled(if: interopPython != nil, "set TOKENBROKER_INTEROP_PYTHON (scripts/interop-venv.sh)"))
struct MCPPythonSDKInteropTests {
    /// The life of one grant: sign-in, tool call, 403 step-up to the union, a second
    /// client sharing the grant, refresh, restart without sign-in, revoke.
    @Test func wholeLifeOfAGrant() async throws {
        let fixture = try await MCPSDKFixture()
        let browser = ManualBrowser()
        let directory = try TemporaryDirectory()
        var daemon = try await TestDaemon(directory: directory, browser: browser.launcher)
        let mcp = MCPTestClient(endpoint: fixture.resource)
        try await withTeardown {

            // 1. No token: the server says 401 and where its metadata is.
            let unauthorized = try await mcp.initialize(token: nil)
            #expect(unauthorized.status == 401)
            #expect(unauthorized.challenge.contains("resource_metadata="))

            // 2. The broker discovers, registers, signs in (the test browser follows the redirect).
            let first = try await daemon.client().token(fixture.resource, challenge: unauthorized.challenge, status: 401).tokenResult()
            #expect(first.scopes == ["files:read"])
            #expect(first.resource == fixture.resource)
            #expect(first.issuer == fixture.authorizationServer)
            #expect(browser.openedURLs.count == 1)

            // 3. The token works for the read tool.
            let initialized = try await mcp.initialize(token: first.accessToken.exposedValue)
            #expect(initialized.status == 200)
            let session = try #require(initialized.sessionID)
            let read = try await mcp.callTool("read", token: first.accessToken.exposedValue, session: session)
            #expect(read.status == 200)
            #expect(read.body.contains("read-ok"))

            // 4. The write tool needs files:write: 403, step-up to the union, same MCP session.
            let forbidden = try await mcp.callTool("write", token: first.accessToken.exposedValue, session: session)
            #expect(forbidden.status == 403)
            let steppedUp = try await daemon.client().token(
                fixture.resource, challenge: forbidden.challenge, status: 403, rejectedToken: first.accessToken.exposedValue
            ).tokenResult()
            #expect(steppedUp.scopes == ["files:read", "files:write"])
            #expect(browser.openedURLs.count == 2)
            let authorizeScopes = try await fixture.log().filter { $0["path"]?.string == "/authorize" }.compactMap { $0["scope"]?.string }
            #expect(authorizeScopes == ["files:read", "files:read files:write"])
            let write = try await mcp.callTool("write", token: steppedUp.accessToken.exposedValue, session: session)
            #expect(write.status == 200)
            #expect(try await fixture.stats()["register"] == 1)

            // 5. A second client needing files:write shares the grant: no sign-in.
            let second = try await daemon.client().token(fixture.resource, scopes: ["files:write"]).tokenResult()
            #expect(second.accessToken == steppedUp.accessToken)
            #expect(browser.openedURLs.count == 2)

            // 6. A server-side 401 for the current token: one refresh, rotation-safe, no sign-in.
            var stats = try await fixture.stats()
            #expect(stats["token_refresh_token"] ?? 0 == 0)
            let refreshed = try await daemon.client().token(
                fixture.resource, challenge: unauthorized.challenge, status: 401, rejectedToken: steppedUp.accessToken.exposedValue
            ).tokenResult()
            #expect(refreshed.accessToken != steppedUp.accessToken)
            #expect(refreshed.scopes == ["files:read", "files:write"])
            stats = try await fixture.stats()
            #expect(stats["token_refresh_token"] == 1)
            #expect(stats["refresh_invalid_grant"] ?? 0 == 0)
            #expect(try await mcp.callTool("write", token: refreshed.accessToken.exposedValue, session: session).status == 200)

            // 7. Restart: the grant comes back from the database; no sign-in, no refresh.
            await daemon.stop()
            daemon = try await TestDaemon(directory: directory, browser: browser.launcher)
            let afterRestart = try await daemon.client().token(fixture.resource, scopes: ["files:read"]).tokenResult()
            #expect(afterRestart.accessToken == refreshed.accessToken)
            #expect(browser.openedURLs.count == 2)
            #expect(try await fixture.stats()["token_refresh_token"] == 1)

            // 8. Revoke: remotely (RFC 7009, with the empty client_secret the SDK insists on) and locally.
            let revoke = try await daemon.client().call(.grantsRevoke, ["resource": .string(fixture.resource)])
            let revoked = try GrantsRevokeResult(jsonValue: try #require(revoke.response.result))
            #expect(revoked.revoked == [RevokedGrant(resource: fixture.resource, remote: .revoked)])
            #expect(try await mcp.callTool("read", token: refreshed.accessToken.exposedValue, session: session).status == 401)
            let list = try GrantsListResult(jsonValue: try #require(try await daemon.client().call(.grantsList).response.result))
            #expect(list.grants.allSatisfy { !$0.hasAccessToken && !$0.hasRefreshToken })
            let nonInteractive = try await daemon.client().token(fixture.resource, interactive: false)
            #expect(nonInteractive.reason == "authorization_required")
            await daemon.stop()
        } teardown: {
            await mcp.shutdown()
            await browser.shutdown()
            await fixture.stop()
        }
    }

    /// 50 concurrent requests on an expired token: one refresh at the server.
    @Test func fiftyConcurrentRequestsShareOneRefresh() async throws {
        let fixture = try await MCPSDKFixture()
        let browser = ManualBrowser()
        let clock = ManualClock()
        let daemon = try await TestDaemon(browser: browser.launcher, clock: clock)
        try await withTeardown {
            _ = try await daemon.client().token(fixture.resource, scopes: ["files:read"]).tokenResult()

            // Two hours later the held token (3600 s) has expired.
            clock.advance(7200)
            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await daemon.client().token(fixture.resource, scopes: ["files:read"])
                            .tokenResult().accessToken.exposedValue
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            let stats = try await fixture.stats()
            #expect(stats["token_refresh_token"] == 1)
            #expect(stats["refresh_invalid_grant"] ?? 0 == 0)
            #expect(tokens.count == 1)
            #expect(browser.openedURLs.count == 1)
        } teardown: {
            await daemon.stop()
            await browser.shutdown()
            await fixture.stop()
        }
    }

    /// Two clients hit the same 403 at once: one sign-in serves both.
    @Test func twoClientsSteppingUpTogetherCauseOneSignIn() async throws {
        let fixture = try await MCPSDKFixture()
        let browser = ManualBrowser()
        let daemon = try await TestDaemon(browser: browser.launcher)
        let mcp = MCPTestClient(endpoint: fixture.resource)
        try await withTeardown {
            let first = try await daemon.client().token(fixture.resource, scopes: ["files:read"]).tokenResult()
            let session = try #require(try await mcp.initialize(token: first.accessToken.exposedValue).sessionID)
            let forbidden = try await mcp.callTool("write", token: first.accessToken.exposedValue, session: session)
            #expect(forbidden.status == 403)

            async let a = daemon.client().token(
                fixture.resource, challenge: forbidden.challenge, status: 403, rejectedToken: first.accessToken.exposedValue)
            async let b = daemon.client().token(
                fixture.resource, challenge: forbidden.challenge, status: 403, rejectedToken: first.accessToken.exposedValue)
            let (replyA, replyB) = try await (a, b)
            #expect(try replyA.tokenResult().accessToken == replyB.tokenResult().accessToken)
            #expect(try replyA.tokenResult().scopes == ["files:read", "files:write"])
            #expect(browser.openedURLs.count == 2)
            #expect(try await fixture.stats()["authorize"] == 2)
        } teardown: {
            await daemon.stop()
            await mcp.shutdown()
            await browser.shutdown()
            await fixture.stop()
        }
    }
}
