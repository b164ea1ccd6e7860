import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerStorage
import TokenBrokerTestKit

/// A revoked grant's tokens do not linger in the database's files: not in free space of
/// its pages (secure_delete) and not in old page images of the write-ahead log (a
/// checkpoint after the revocation truncates it).
@Suite struct RevokedSecretsTests {
    @Test func revokedTokensAreGoneFromEveryFile() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/state/tokenbroker/broker.sqlite3"
            let store = try BrokerStore.open(path: path, key: .testing)
            try await Fixture.seed(store)
            try await store.saveGrant(Fixture.grant())
            try await store.saveGrant(Fixture.grant(Fixture.otherResource))
            try await store.revokeGrants(
                [GrantKey(resource: Fixture.resource.string, issuer: Fixture.issuer),
                 GrantKey(resource: Fixture.otherResource.string, issuer: Fixture.issuer)],
                at: Fixture.t0)

            #expect(FileManager.default.fileExists(atPath: path))
            let holdsAToken = databaseFilesHold([Fixture.accessToken, Fixture.refreshToken].map(\.exposedValue), databaseAt: path)
            #expect(!holdsAToken, "a revoked token is still readable in the database's files")
            try store.close()
        }
    }
}
