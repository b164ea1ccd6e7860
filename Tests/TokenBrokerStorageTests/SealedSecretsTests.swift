import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerStorage
import TokenBrokerTestKit

/// Secrets are sealed with a key kept outside the database (issue 12): the files hold no
/// token, verifier or client secret; a sealed value opens only in its own row and column
/// and only with its key; a wrong key is refused without touching anything, or, when
/// asked, what it cannot open is forgotten while the scope history stays.
@Suite struct SealedSecretsTests {
    static let otherKey = StorageKey(bytes: [UInt8](repeating: 9, count: StorageKey.byteCount))!

    static var fixtureSecrets: [String] {
        [Fixture.accessToken, Fixture.refreshToken, Fixture.clientSecret, Fixture.codeVerifier].map(\.exposedValue)
    }

    /// A database at `path` with a registration, a grant and a sign-in in progress.
    static func storeHoldingEverySecret(at path: String) async throws -> BrokerStore {
        let store = try BrokerStore.open(path: path, key: .testing)
        try await Fixture.seed(store)
        try await store.saveClientRegistration(Fixture.clientRegistration())
        try await store.saveGrant(Fixture.grant())
        try await store.keepSignIn(Fixture.pending())
        return store
    }

    @Test func noSecretIsReadableInTheFiles() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/broker.sqlite3"
            let store = try await Self.storeHoldingEverySecret(at: path)
            #expect(try await store.grant(resource: Fixture.resource, issuer: Fixture.issuer) == Fixture.grant())
            #expect(try await store.clientRegistration(issuer: Fixture.issuer) == Fixture.clientRegistration())
            #expect(try await store.keptSignIns() == [Fixture.pending()])
            let readable = databaseFilesHold(Self.fixtureSecrets, databaseAt: path)
            #expect(!readable, "a secret is readable in the database's files")
            try store.close()
        }
    }

    /// A sealed value copied into another row does not open there.
    @Test func aSealedValueOpensOnlyInItsOwnRow() async throws {
        try await StoreKind.onDisk.withStore { store in
            try await Fixture.seed(store)
            try await store.saveGrant(Fixture.grant())
            var other = Fixture.grant(Fixture.otherResource)
            other.refreshToken = Secret("another-refresh-token")
            try await store.saveGrant(other)
            try await store.withImmediateTransaction { transaction in
                try transaction.executeUnchecked(
                    sql: """
                        UPDATE grants SET refresh_token = (SELECT refresh_token FROM grants WHERE resource = '\(Fixture.resource.string)')
                        WHERE resource = '\(Fixture.otherResource.string)'
                        """)
            }
            let error = await #expect(throws: StorageError.self) {
                try await store.grant(resource: Fixture.otherResource, issuer: Fixture.issuer)
            }
            #expect(error?.code == .wrongKey)
            #expect(error?.description.contains("grants.refresh_token") == true)
            #expect(try await store.grant(resource: Fixture.resource, issuer: Fixture.issuer) == Fixture.grant())
        }
    }

    /// Another key is refused before anything changes; asked to, the store forgets what
    /// it cannot open (tokens, registrations, sign-ins in progress) and keeps the scopes.
    @Test func aWrongKeyIsRefusedOrItsSecretsForgotten() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/broker.sqlite3"
            let store = try await Self.storeHoldingEverySecret(at: path)
            try store.close()
            #expect(try BrokerStore.holdsSealedSecrets(path: path))
            let before = try #require(FileManager.default.contents(atPath: path))

            let error = #expect(throws: StorageError.self) { try BrokerStore.open(path: path, key: Self.otherKey) }
            #expect(error?.code == .wrongKey)
            #expect(error?.description.contains(path) == true)
            #expect(FileManager.default.contents(atPath: path) == before)

            let reopened = try BrokerStore.open(path: path, key: Self.otherKey, discardingUnopenableSecrets: true)
            let grant = try #require(try await reopened.grant(resource: Fixture.resource, issuer: Fixture.issuer))
            #expect(grant.accessToken == nil && grant.refreshToken == nil)
            #expect(grant.requestedScopes == Fixture.grant().requestedScopes)
            #expect(try await reopened.clientRegistration(issuer: Fixture.issuer) == nil)
            #expect(try await reopened.keptSignIns().isEmpty)
            try reopened.close()
            // The new key is the database's key now.
            try BrokerStore.open(path: path, key: Self.otherKey).close()
            #expect(throws: StorageError.self) { try BrokerStore.open(path: path, key: .testing) }
        }
    }

    /// Secrets an earlier version wrote in the clear are sealed by the migration, and the
    /// file is rewritten so no page keeps them.
    @Test func clearSecretsFromBeforeAreSealed() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/broker.sqlite3"
            let store = try await Self.storeHoldingEverySecret(at: path)
            // Back to v3: the values in the clear, no key check.
            let clear = Self.fixtureSecrets
            try await store.withImmediateTransaction { transaction in
                try transaction.executeUnchecked(
                    sql: """
                        UPDATE grants SET access_token = '\(clear[0])', refresh_token = '\(clear[1])';
                        UPDATE client_registrations SET client_secret = '\(clear[2])',
                            registration_response_json = '{"client_id":"client-123","client_secret":"\(clear[2])"}';
                        UPDATE pending_authorizations SET code_verifier = '\(clear[3])';
                        DROP TABLE key_check;
                        DELETE FROM grdb_migrations WHERE identifier = 'v4-sealed-secrets';
                        ALTER TABLE pending_authorizations DROP COLUMN device_code;
                        ALTER TABLE pending_authorizations DROP COLUMN user_code;
                        ALTER TABLE pending_authorizations DROP COLUMN verification_uri;
                        ALTER TABLE pending_authorizations DROP COLUMN verification_uri_complete;
                        ALTER TABLE pending_authorizations DROP COLUMN device_expires_at;
                        ALTER TABLE pending_authorizations DROP COLUMN device_interval;
                        DELETE FROM grdb_migrations WHERE identifier = 'v5-device-sign-ins';
                        """)
            }
            try store.close()
            #expect(try !BrokerStore.holdsSealedSecrets(path: path))

            let migrated = try BrokerStore.open(path: path, key: .testing)
            #expect(try await migrated.grant(resource: Fixture.resource, issuer: Fixture.issuer) == Fixture.grant())
            #expect(try await migrated.clientRegistration(issuer: Fixture.issuer) == Fixture.clientRegistration())
            #expect(try await migrated.keptSignIns() == [Fixture.pending()])
            let stored = try await migrated.withImmediateTransaction { try $0.rawTexts(sql: "SELECT refresh_token FROM grants") }
            #expect(stored.allSatisfy { $0.hasPrefix("sealed1:") })
            try migrated.close()
            let readable = databaseFilesHold(clear, databaseAt: path)
            #expect(!readable, "a secret written in the clear before is still readable")
        }
    }

    /// The key file: made 0600, read back, refused when others can read it or it holds
    /// no key.
    @Test func keyFiles() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/config/tokenbroker/key"
            #expect(try StorageKey.read(path: path) == nil)
            let made = try StorageKey.create(path: path)
            #expect(try permissions(path) == 0o600)
            #expect(try StorageKey.read(path: path)?.fileContents == made.fileContents)
            #expect(throws: StorageError.self) { try StorageKey.create(path: path) }  // never replaced

            chmod(path, 0o644)
            let open = #expect(throws: StorageError.self) { try StorageKey.read(path: path) }
            #expect(open?.code == .keyFile && open?.description.contains("chmod 600") == true)

            let short = directory + "/short"
            try "c2hvcnQ=\n".write(toFile: short, atomically: false, encoding: .utf8)
            chmod(short, 0o600)
            #expect(throws: StorageError.self) { try StorageKey.read(path: short) }
        }
    }
}
