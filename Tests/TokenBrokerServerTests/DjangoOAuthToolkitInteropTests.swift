import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TokenBrokerProtocol
import TokenBrokerTestKit

/// django-oauth-toolkit 3.4.1 on Django 5.2 (`Tests/Interop/dot`): a second real
/// authorization server, with PKCE required, RFC 9207 `iss`, open dynamic registration,
/// refresh-token rotation with reuse protection, and a protected files API whose 403 has
/// no `scope=`. `.ci/run` provides the venv; without it these tests are skipped, visibly.
@Suite(.serialized, .enabled(if: interopPython != nil, "set TOKENBROKER_INTEROP_PYTHON (scripts/interop-venv.sh)"))
struct DjangoOAuthToolkitInteropTests {
    /// The django-oauth-toolkit fixture, a browser and a daemon, torn down in order on
    /// every path (also when setting one of them up fails).
    private func withDOT(
        clock: ManualClock = ManualClock(), _ body: (DOTFixture, ManualBrowser, TestDaemon) async throws -> Void
    ) async throws {
        let fixture = try await DOTFixture()
        let browser = ManualBrowser()
        let daemon: TestDaemon
        do {
            daemon = try await TestDaemon(browser: browser.launcher, clock: clock)
        } catch {
            await browser.shutdown()
            await fixture.stop()
            throw error
        }
        try await withTeardown {
            try await body(fixture, browser, daemon)
        } teardown: {
            await daemon.stop()
            await browser.shutdown()
            await fixture.stop()
        }
    }

    /// Sign-in for files:read, then a 403 without `scope=` on the write endpoint: step-up
    /// to the union, with the same `resource` at every step.
    @Test func signInAndStepUp() async throws {
        try await withDOT { fixture, browser, daemon in

            // No token: 401 with only resource_metadata (RFC 6750: no error code).
            let unauthorized = try await fixture.get(fixture.read, token: nil)
            #expect(unauthorized.status == 401)
            #expect(unauthorized.challenge.contains("resource_metadata="))
            #expect(!unauthorized.challenge.contains("error="))

            let first = try await daemon.client().token(
                fixture.read, scopes: ["files:read"], challenge: unauthorized.challenge, status: 401
            ).tokenResult()
            #expect(first.scopes == ["files:read"])
            #expect(first.resource == fixture.resource)
            #expect(first.issuer == fixture.issuer)
            #expect(browser.openedURLs.count == 1)
            #expect(try await fixture.get(fixture.read, token: first.accessToken.exposedValue).status == 200)

            // The write endpoint: 403 insufficient_scope, and DOT names no scope.
            let forbidden = try await fixture.get(fixture.write, token: first.accessToken.exposedValue)
            #expect(forbidden.status == 403)
            #expect(forbidden.challenge.contains("insufficient_scope"))
            #expect(!forbidden.challenge.contains("scope=\""))
            let steppedUp = try await daemon.client().token(
                fixture.write, scopes: ["files:write"], challenge: forbidden.challenge, status: 403,
                rejectedToken: first.accessToken.exposedValue
            ).tokenResult()
            #expect(steppedUp.scopes == ["files:read", "files:write"])
            #expect(steppedUp.resource == fixture.resource)
            #expect(browser.openedURLs.count == 2)
            #expect(try await fixture.get(fixture.write, token: steppedUp.accessToken.exposedValue).status == 200)
            #expect(try await fixture.get(fixture.read, token: steppedUp.accessToken.exposedValue).status == 200)

            // What DOT saw: one registration, two sign-ins (read, then the union), each
            // authorization and code exchange bound to the same resource.
            let log = try await fixture.log()
            let authorizations = log.filter { $0["path"]?.string == "/o/authorize/" }
            #expect(authorizations.compactMap { $0["scope"]?.string } == ["files:read", "files:read files:write"])
            let exchanges = log.filter { $0["path"]?.string == "/o/token/" && $0["grant_type"]?.string == "authorization_code" }
            #expect(exchanges.count == 2)
            #expect((authorizations + exchanges).allSatisfy { $0["resource"]?.string == fixture.resource })
            let stats = try await fixture.stats()
            #expect(stats["register"] == 1)
            #expect(stats["token_refresh_token"] == 0)
        }
    }

    /// A client that does not know which scope the write endpoint needs: DOT's 403 names
    /// none, so the broker falls back to the resource's scopes_supported for the union.
    @Test func stepUpWhenNobodyNamesTheScope() async throws {
        try await withDOT { fixture, browser, daemon in
            let first = try await daemon.client().token(fixture.read, scopes: ["files:read"]).tokenResult()
            let forbidden = try await fixture.get(fixture.write, token: first.accessToken.exposedValue)
            #expect(forbidden.status == 403)
            let steppedUp = try await daemon.client().token(
                fixture.write, challenge: forbidden.challenge, status: 403, rejectedToken: first.accessToken.exposedValue
            ).tokenResult()
            #expect(steppedUp.scopes == ["files:read", "files:write"])
            #expect(try await fixture.get(fixture.write, token: steppedUp.accessToken.exposedValue).status == 200)
            #expect(browser.openedURLs.count == 2)

            // The same 403 reported again with the now-current token: nothing new to ask for.
            let again = try await daemon.client().token(
                fixture.write, challenge: forbidden.challenge, status: 403, rejectedToken: steppedUp.accessToken.exposedValue)
            #expect(again.reason == "scope_unattainable")
            #expect(browser.openedURLs.count == 2)
        }
    }

    /// 20 clients ask at once for an expired token: one refresh, so DOT's reuse
    /// protection never sees a rotated-out refresh token, and the family lives on.
    @Test func concurrentClientsOnAnExpiredTokenShareOneRefresh() async throws {
        let clock = ManualClock()
        try await withDOT(clock: clock) { fixture, browser, daemon in
            let signedIn = try await daemon.client().token(fixture.read, scopes: ["files:read"]).tokenResult()
            #expect(browser.openedURLs.count == 1)

            // Two hours later, by the broker's clock, the 3600 s token has expired.
            clock.advance(7200)
            let tokens = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await daemon.client().token(fixture.read, scopes: ["files:read"]).tokenResult().accessToken.exposedValue
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(tokens.count == 1)
            let refreshed = try #require(tokens.first)
            #expect(refreshed != signedIn.accessToken.exposedValue)
            var stats = try await fixture.stats()
            #expect(stats["token_refresh_token"] == 1)
            #expect(stats["refresh_invalid_grant"] == 0)

            // The family is alive: the new token works, the rotated-out one does not, and the
            // new refresh token refreshes again.
            #expect(try await fixture.get(fixture.read, token: refreshed).status == 200)
            #expect(try await fixture.get(fixture.read, token: signedIn.accessToken.exposedValue).status == 401)
            clock.advance(7200)
            let again = try await daemon.client().token(fixture.read, scopes: ["files:read"]).tokenResult()
            #expect(again.accessToken.exposedValue != refreshed)
            #expect(try await fixture.get(fixture.read, token: again.accessToken.exposedValue).status == 200)
            stats = try await fixture.stats()
            #expect(stats["token_refresh_token"] == 2)
            #expect(stats["refresh_invalid_grant"] == 0)
            #expect(stats["refresh_tokens_live"] == 1)
            #expect(browser.openedURLs.count == 1)

            // Every refresh carried the resource (RFC 8707), which DOT keeps as the audience.
            let refreshes = try await fixture.log().filter { $0["grant_type"]?.string == "refresh_token" }
            #expect(refreshes.count == 2)
            #expect(refreshes.allSatisfy { $0["resource"]?.string == fixture.resource })
        }
    }

    /// A client that keeps its token until the server refuses it, and reports each 401
    /// with the refused token: every expiry is one refresh, never a sign-in. (Each hour
    /// passes on the broker's clock and, through /_test/expire, at DOT.)
    @Test func aClientReportingEachExpiryIsRefreshedEveryTime() async throws {
        let clock = ManualClock()
        try await withDOT(clock: clock) { fixture, browser, daemon in
            let unauthorized = try await fixture.get(fixture.read, token: nil)
            var token = try await daemon.client().token(
                fixture.read, scopes: ["files:read"], challenge: unauthorized.challenge, status: 401
            ).tokenResult().accessToken.exposedValue
            #expect(try await fixture.get(fixture.read, token: token).status == 200)

            for hour in 1...3 {
                clock.advance(3600 + 60)
                try await fixture.expireAccessTokens()
                let expired = try await fixture.get(fixture.read, token: token)
                #expect(expired.status == 401, "hour \(hour)")
                token = try await daemon.client().token(
                    fixture.read, scopes: ["files:read"], challenge: expired.challenge, status: 401, rejectedToken: token
                ).tokenResult().accessToken.exposedValue
                #expect(try await fixture.get(fixture.read, token: token).status == 200, "hour \(hour)")
            }
            #expect(browser.openedURLs.count == 1)
            let stats = try await fixture.stats()
            #expect(stats["authorize"] == 1)
            #expect(stats["token_refresh_token"] == 3)
            #expect(stats["refresh_invalid_grant"] == 0)
        }
    }

    /// `grants/revoke` revokes at DOT (RFC 7009, public client) and forgets locally.
    @Test func revokeEndsTheGrantAtTheServer() async throws {
        try await withDOT { fixture, browser, daemon in
            let token = try await daemon.client().token(fixture.read, scopes: ["files:read"]).tokenResult()
            #expect(try await fixture.get(fixture.read, token: token.accessToken.exposedValue).status == 200)
            #expect(try await fixture.stats()["refresh_tokens_live"] == 1)

            let revoke = try await daemon.client().call(.grantsRevoke, ["resource": .string(fixture.resource)])
            let revoked = try GrantsRevokeResult(jsonValue: try #require(revoke.response.result))
            #expect(revoked.revoked == [RevokedGrant(resource: fixture.resource, remote: .revoked)])

            let after = try await fixture.get(fixture.read, token: token.accessToken.exposedValue)
            #expect(after.status == 401)
            #expect(after.challenge.contains("invalid_token"))
            let stats = try await fixture.stats()
            #expect(stats["revoke"] ?? 0 >= 1)
            #expect(stats["refresh_tokens_live"] == 0)
            let list = try GrantsListResult(jsonValue: try #require(try await daemon.client().call(.grantsList).response.result))
            #expect(list.grants.allSatisfy { !$0.hasAccessToken && !$0.hasRefreshToken })
            #expect(try await daemon.client().token(fixture.read, interactive: false).reason == "authorization_required")
        }
    }
}

/// `Tests/Interop/dot/dot_fixture.py`: django-oauth-toolkit and the files API.
final class DOTFixture: Sendable {
    let fixture: FixtureProcess
    let base: String
    let issuer: String
    let resource: String
    let read: String
    let write: String
    let http: HTTPClient

    struct Handshake: Decodable {
        var base: String
        var issuer: String
        var resource: String
        var read: String
        var write: String
    }

    struct Answer {
        var status: Int
        var wwwAuthenticate: [String]
        /// The challenge as `token/get` wants it: header lines joined with ", ".
        var challenge: String { wwwAuthenticate.joined(separator: ", ") }
    }

    init() async throws {
        guard let python = interopPython else { throw UnexpectedError(description: "TOKENBROKER_INTEROP_PYTHON is not set") }
        // Migrations first, then one JSON line once the server listens.
        let handshake: Handshake
        (fixture, handshake) = try await FixtureProcess.start(
            python, [repositoryRoot + "/Tests/Interop/dot/dot_fixture.py"], handshake: Handshake.self)
        base = handshake.base
        issuer = handshake.issuer
        resource = handshake.resource
        read = handshake.read
        write = handshake.write
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func get(_ url: String, token: String?) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await http.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: Int(response.status.code), wwwAuthenticate: response.headers["WWW-Authenticate"])
    }

    /// Ends every access token's life at DOT now.
    func expireAccessTokens() async throws {
        var request = HTTPClientRequest(url: base + "/_test/expire")
        request.method = .POST
        let response = try await http.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw UnexpectedError(description: "/_test/expire answered \(response.status)") }
    }

    /// Request counts and token table counts (no secrets).
    func stats() async throws -> [String: Int] {
        let response = try await http.execute(HTTPClientRequest(url: base + "/_test/stats"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] ?? [:]
        return object.compactMapValues { ($0 as? NSNumber)?.intValue }
    }

    /// What reached `/o/` and `/api/`: method, path, status, grant_type, scope, resource.
    func log() async throws -> [[String: JSONAny]] {
        let response = try await http.execute(HTTPClientRequest(url: base + "/_test/log"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 8 << 20)
        return try JSONDecoder().decode([[String: JSONAny]].self, from: Data(body.readableBytesView))
    }

    func stop() async {
        await fixture.stop(terminate: false)
        try? await http.shutdown()
    }
}
