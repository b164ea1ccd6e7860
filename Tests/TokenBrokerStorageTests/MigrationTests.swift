import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerStorage
import TokenBrokerTestKit

@Suite("Schema migrations")
struct MigrationTests {
    @Test("a new database gets every migration, in order", arguments: StoreKind.allCases)
    func appliesInitialMigration(kind: StoreKind) async throws {
        let applied = try await kind.withStore { store in try await store.appliedMigrations() }
        #expect(applied == ["v1-initial", "v2-pending-authorization-client", "v3-grant-client", "v4-sealed-secrets", "v5-device-sign-ins"])
    }

    @Test("reopening a current database changes nothing in its schema")
    func reopenIsIdempotent() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/broker.sqlite3"
            let store = try BrokerStore.open(path: path, key: .testing)
            let schema = try await store.schemaDump()
            try store.close()

            let reopened = try BrokerStore.open(path: path, key: .testing)
            defer { try? reopened.close() }
            #expect(try await reopened.schemaDump() == schema)
            #expect(try await reopened.appliedMigrations() == ["v1-initial", "v2-pending-authorization-client", "v3-grant-client", "v4-sealed-secrets", "v5-device-sign-ins"])
        }
    }

    /// Grants stored before they named their client belonged to the registration at
    /// their issuer: the only client a refresh could have used.
    @Test("v3 records each existing grant's client")
    func grantsLearnTheirClient() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/broker.sqlite3"
            let store = try BrokerStore.open(path: path, key: .testing)
            try await Fixture.seed(store)
            try await store.saveClientRegistration(Fixture.clientRegistration())
            try await store.saveGrant(Fixture.grant())
            try await store.saveGrant(Fixture.grant(issuer: Fixture.otherIssuer))
            // Back to the v2 schema, as an older tokenbroker left it.
            try await store.withImmediateTransaction { transaction in
                try transaction.executeUnchecked(
                    sql: """
                        DROP TABLE retired_client_registrations;
                        ALTER TABLE grants DROP COLUMN client_id;
                        DELETE FROM grdb_migrations WHERE identifier = 'v3-grant-client';
                        """)
            }
            try store.close()

            let migrated = try BrokerStore.open(path: path, key: .testing)
            defer { try? migrated.close() }
            #expect(try await migrated.grant(resource: Fixture.resource, issuer: Fixture.issuer)?.clientID == "client-123")
            // No registration at the other issuer: the grant names no client.
            let other = try await migrated.grant(resource: Fixture.resource, issuer: Fixture.otherIssuer)
            #expect(other != nil && other?.clientID == nil)
        }
    }

    @Test("a database migrated by a newer tokenbroker is refused and left byte-identical")
    func refusesNewerSchemaWithoutTouchingIt() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/broker.sqlite3"
            let store = try BrokerStore.open(path: path, key: .testing)
            try await Fixture.seed(store)
            try await store.saveGrant(Fixture.grant())
            try await store.withImmediateTransaction { transaction in
                try transaction.executeUnchecked(
                    sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
            }
            try store.close()
            let before = try #require(FileManager.default.contents(atPath: path))

            let error = #expect(throws: StorageError.self) { try BrokerStore.open(path: path, key: .testing) }
            #expect(error?.code == .newerSchema)
            #expect(error?.description.contains("v99-from-the-future") == true)
            #expect(error?.description.contains(path) == true)

            #expect(FileManager.default.contents(atPath: path) == before)
            // No WAL content was left behind either, to be checkpointed into the file later.
            let walSize = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
            #expect(walSize == 0)
            // The refusal released the lock: a second attempt gets the same answer.
            let again = #expect(throws: StorageError.self) { try BrokerStore.open(path: path, key: .testing) }
            #expect(again?.code == .newerSchema)
        }
    }
}
