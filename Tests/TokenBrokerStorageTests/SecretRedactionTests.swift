import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerStorage

@Suite("Secrets stay out of descriptions and errors")
struct SecretRedactionTests {
    @Test("records read back from the store describe themselves without secrets", arguments: StoreKind.allCases)
    func recordDescriptions(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            try await store.saveGrant(Fixture.grant())
            try await store.saveClientRegistration(Fixture.clientRegistration())
            try await store.keepSignIn(Fixture.pending())

            let grant = try #require(try await store.grant(resource: Fixture.resource, issuer: Fixture.issuer))
            let registration = try #require(try await store.clientRegistration(issuer: Fixture.issuer))
            let pending = try #require(try await store.keptSignIns().first)
            let rotation = TokenRotation(
                accessToken: Fixture.accessToken, accessTokenExpiresAt: nil, refreshToken: Fixture.refreshToken,
                grantedScopes: [], rotatedAt: Fixture.t0)
            // The values are really there…
            #expect(grant.refreshToken == Fixture.refreshToken)
            #expect(registration.clientSecret == Fixture.clientSecret)
            #expect(pending.codeVerifier == Fixture.codeVerifier)
            // …and never shown.
            let values: [any Sendable] = [grant, registration, pending, rotation, [grant]]
            for value in values {
                expectNoSecret(String(describing: value))
                expectNoSecret(String(reflecting: value))
                var dumped = ""
                dump(value, to: &dumped)
                expectNoSecret(dumped)
            }
        }
    }

    @Test("errors from writes carrying secrets do not show them", arguments: StoreKind.allCases)
    func errorDescriptions(kind: StoreKind) async throws {
        try await kind.withStore { store in
            // Foreign key violation: no resource stored.
            let missing = await #expect(throws: StorageError.self) { try await store.saveGrant(Fixture.grant()) }
            expectNoSecret(String(describing: try #require(missing)))

            // Check violation: empty client secret next to a real one in the same row.
            try await Fixture.seed(store)
            var registration = Fixture.clientRegistration()
            registration.tokenEndpointAuthMethod = ""
            let invalid = await #expect(throws: StorageError.self) {
                try await store.saveClientRegistration(registration)
            }
            #expect(invalid?.code == .constraintViolation)
            expectNoSecret(String(reflecting: try #require(invalid)))

            // Unique violation on a row holding a verifier.
            try await store.keepSignIn(Fixture.pending())
            let duplicate = await #expect(throws: StorageError.self) {
                try await store.keepSignIn(Fixture.pending())
            }
            expectNoSecret(String(describing: try #require(duplicate)))
        }
    }
}
