import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerProtocol
import TokenBrokerStorage
@testable import TokenBrokerServer
import TokenBrokerTestKit

/// A database that cannot be written (a full disk, a read-only file system; SQLite made
/// to refuse writes): held tokens are still served, a rotated refresh token is kept in
/// memory rather than lost, what needs the database fails with a clear error, nothing is
/// corrupted, and once writes work again everything is written.
@Suite(.timeLimit(.minutes(2))) struct StorageFaultTests {
    @Test func aDatabaseThatCannotBeWrittenLosesNothing() async throws {
        try await Scenario.run { s in
            let first = try await s.client.token(s.fake.resource, scopes: ["files:read"]).tokenResult()
            let store = try await s.daemon.daemon.endpoints().store
            try await store.refuseWrites(true)

            // Held: served.
            #expect(try await s.client.token(s.fake.resource, scopes: ["files:read"]).tokenResult().accessToken == first.accessToken)
            // Expired: the server rotates the refresh token; the new one is kept in memory
            // and the new access token served.
            s.clock.advance(7200)
            let refreshed = try await s.client.token(s.fake.resource, scopes: ["files:read"]).tokenResult()
            #expect(refreshed.accessToken != first.accessToken)
            // And again, from the token only memory holds.
            s.clock.advance(7200)
            let again = try await s.client.token(s.fake.resource, scopes: ["files:read"]).tokenResult()
            #expect(again.accessToken != refreshed.accessToken)
            #expect(s.fake.tokenRequests(grantType: "refresh_token").count == 2)

            // What cannot work without the database: a clear error, and the daemon serves on.
            let other = try await s.client.token(s.fake.origin + "/more/files", scopes: ["files:read"], interactive: false)
            #expect(other.reason == "internal_error")
            #expect(other.response.error?.message.contains("cannot be written") == true)
            #expect(try await s.client.call(.brokerInfo).response.error == nil)

            // Writes work again; the daemon stops and starts: the grant on disk is the one
            // memory held, so no sign-in is needed.
            try await store.refuseWrites(false)
            try await s.restart()
            let after = try await s.client.token(s.fake.resource, scopes: ["files:read"], interactive: false).tokenResult()
            #expect(after.accessToken == again.accessToken)
            s.clock.advance(7200)
            _ = try await s.client.token(s.fake.resource, scopes: ["files:read"], interactive: false).tokenResult()
            #expect(s.browser.openedURLs.count == 1)
            #expect(try await s.daemon.daemon.endpoints().store.integrityCheck() == "ok")
        }
    }

    /// Writes come back while the daemon runs: the next request that reaches the grant's
    /// session writes it, before anything else happens to it.
    @Test func theGrantIsWrittenOnceWritesWork() async throws {
        try await Scenario.run { s in
            _ = try await s.client.token(s.fake.resource, scopes: ["files:read"]).tokenResult()
            let store = try await s.daemon.daemon.endpoints().store
            try await store.refuseWrites(true)
            s.clock.advance(7200)
            let refreshed = try await s.client.token(s.fake.resource, scopes: ["files:read"]).tokenResult()
            try await store.refuseWrites(false)
            // A request the cache cannot answer (a 401 for a token not ours) reaches the session.
            _ = try await s.client.token(
                s.fake.resource, scopes: ["files:read"], challenge: "Bearer", status: 401, rejectedToken: "not-ours"
            ).tokenResult()
            let stored = try await store.grant(resource: try ResourceURI(s.fake.resource, policy: .loopbackHTTPAllowed), issuer: s.fake.issuer)
            #expect(stored?.accessToken?.exposedValue == refreshed.accessToken.exposedValue)
        }
    }
}
