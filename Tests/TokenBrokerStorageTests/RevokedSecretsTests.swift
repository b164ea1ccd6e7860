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

            let tokens = [Fixture.accessToken, Fixture.refreshToken].map { Array($0.exposedValue.utf8) }
            var files = 0
            for suffix in ["", "-wal", "-shm", "-journal"] {
                guard let bytes = FileManager.default.contents(atPath: path + suffix).map(Array.init) else { continue }
                files += 1
                // A flag, not the bytes: a failure must not print what it found.
                let holdsAToken = tokens.contains { token in bytes.indices.contains { bytes[$0...].starts(with: token) } }
                #expect(!holdsAToken, "a revoked token is still readable in broker.sqlite3\(suffix)")
            }
            #expect(files >= 1)
            try store.close()
        }
    }
}
