import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerProtocol
@testable import TokenBrokerServer
import TokenBrokerStorage
import TokenBrokerTestKit

/// The daemon's database at rest (issue 12): after a sign-in, refreshes with rotation and
/// a revocation, none of the files holds a token, a verifier or the client secret; the key
/// is made on first start and a lost one is reported, not silently replaced.
@Suite(.timeLimit(.minutes(2))) struct SealedStateTests {
    static let read = "files:read"

    /// Everything secret the fake saw or issued.
    static func secrets(of fake: FakeOAuthServer) -> [String] {
        var found = fake.exchanges.items.flatMap { exchange in
            ["access_token", "refresh_token", "client_secret"].compactMap { exchange.member($0) }
        }
        found += fake.requests.compactMap { $0[field: "code_verifier"] }
        found += fake.requests.compactMap { $0[field: "code"] }
        return found
    }

    @Test func noIssuedSecretIsReadableAtRest() async throws {
        try await Scenario.run({ $0.issueClientSecret = true }) { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            for _ in 0..<2 {
                s.clock.advance(7200)
                _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            }
            #expect(s.fake.tokenExchanges(grantType: "refresh_token").count == 2)
            let secrets = Self.secrets(of: s.fake)
            #expect(secrets.count >= 8)
            let databasePath = s.daemon.databasePath
            // While it runs (the log as it is) and once it stopped.
            var readable = databaseFilesHold(secrets, databaseAt: databasePath)
            #expect(!readable, "a secret is readable in the database's files while the daemon runs")
            try await s.restart {
                readable = databaseFilesHold(secrets, databaseAt: databasePath)
                #expect(!readable, "a secret is readable in the database's files")
                let mode = try FileManager.default.attributesOfItem(atPath: s.daemon.keyPath)[.posixPermissions] as? Int
                #expect(mode == 0o600)
            }
            _ = try await s.client.call(.grantsRevoke, ["all": true])
            readable = databaseFilesHold(secrets, databaseAt: databasePath)
            #expect(!readable, "a secret is readable in the database's files after the revocation")
        }
    }

    /// The key is lost: the daemon refuses to start, naming the key and the way out,
    /// and makes no new key; started to forget, it keeps the scope history and signs in
    /// again.
    @Test func aLostKeyIsReportedNotReplaced() async throws {
        try await Scenario.run { s in
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            let directory = s.directory
            let keyPath = s.daemon.keyPath
            await s.daemon.stop()
            #expect(unlink(keyPath) == 0)

            let refusal = await #expect(throws: (any Error).self) {
                let daemon = try await TestDaemon(directory: directory, browser: s.browser.launcher)
                await daemon.stop()
            }
            let message = refusal.map { "\($0)" } ?? ""
            #expect(message.contains(keyPath) && message.contains("--forget-unopenable-secrets"))
            #expect(!FileManager.default.fileExists(atPath: keyPath))

            let forgetting = try await TestDaemon(
                directory: directory, browser: s.browser.launcher, forgetUnopenableSecrets: true)
            let grants = try GrantsListResult(
                jsonValue: try #require(try await forgetting.client().call(.grantsList).response.result)
            ).grants
            #expect(grants.count == 1 && grants.allSatisfy { !$0.hasAccessToken && !$0.hasRefreshToken })
            #expect(grants.first?.requestedScopes == [Self.read])
            _ = try await forgetting.client().token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(s.fake.requests(to: "/authorize").count == 2)
            await forgetting.stop()
        }
    }
}
