import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerStorage

@Suite("Deleting a resource")
struct CascadeTests {
    @Test("deleting a resource deletes its grants and sign-ins, and nothing else", arguments: StoreKind.allCases)
    func deleteResourceCascades(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            try await store.saveClientRegistration(Fixture.clientRegistration())
            try await store.saveGrant(Fixture.grant())
            try await store.saveGrant(Fixture.grant(Fixture.resource, issuer: Fixture.otherIssuer))
            try await store.saveGrant(Fixture.grant(Fixture.otherResource))
            try await store.keepSignIn(Fixture.pending(state: "for-deleted"))
            try await store.keepSignIn(Fixture.pending(state: "for-other", Fixture.otherResource))
            try await store.appendAudit(Fixture.audit())

            #expect(try await store.deleteResource(Fixture.resource))

            #expect(try await store.resource(Fixture.resource) == nil)
            #expect(try await store.allGrants().map(\.resource) == [Fixture.otherResource])
            #expect(try await store.keptSignIns().map(\.state) == ["for-other"])
            #expect(try await store.recentAuditEntries(limit: 10).count == 1)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer) != nil)
            #expect(try await store.authorizationServer(issuer: Fixture.issuer) != nil)
            #expect(try await store.deleteResource(Fixture.resource) == false)
        }
    }
}
