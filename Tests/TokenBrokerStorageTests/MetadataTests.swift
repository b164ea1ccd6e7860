import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerStorage

@Suite("Authorization servers, client registrations and resources")
struct MetadataTests {
    @Test("authorization server metadata round-trips and is replaced in place", arguments: StoreKind.allCases)
    func authorizationServers(kind: StoreKind) async throws {
        try await kind.withStore { store in
            #expect(try await store.authorizationServer(issuer: Fixture.issuer) == nil)
            try await Fixture.seed(store)
            try await store.saveClientRegistration(Fixture.clientRegistration())
            try await store.saveGrant(Fixture.grant())
            #expect(try await store.authorizationServer(issuer: Fixture.issuer) == Fixture.authorizationServer())

            // A refetch replaces the metadata without deleting what refers to it.
            let refetched = Fixture.authorizationServer(fetchedAt: Fixture.t0.addingTimeInterval(3600))
            try await store.saveAuthorizationServer(refetched)
            #expect(try await store.authorizationServer(issuer: Fixture.issuer) == refetched)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer) == Fixture.clientRegistration())
            #expect(try await store.grant(resource: Fixture.resource, issuer: Fixture.issuer) == Fixture.grant())
            #expect(try await store.resource(Fixture.resource)?.issuer == Fixture.issuer)
        }
    }

    @Test("metadata must be JSON and an issuer must not be empty", arguments: StoreKind.allCases)
    func metadataChecks(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let notJSON = StoredAuthorizationServer(
                issuer: Fixture.issuer, metadataJSON: "{oops", fetchedAt: Fixture.t0)
            let error = await #expect(throws: StorageError.self) { try await store.saveAuthorizationServer(notJSON) }
            #expect(error?.code == .constraintViolation)
            #expect(error?.description.contains(Fixture.issuer) == true)

            let noIssuer = StoredAuthorizationServer(issuer: "", metadataJSON: "{}", fetchedAt: Fixture.t0)
            let empty = await #expect(throws: StorageError.self) { try await store.saveAuthorizationServer(noIssuer) }
            #expect(empty?.code == .constraintViolation)
        }
    }

    @Test("a client registration round-trips, is replaced, and deleted", arguments: StoreKind.allCases)
    func clientRegistrations(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            let registration = Fixture.clientRegistration()
            try await store.saveClientRegistration(registration)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer) == registration)

            let metadataDocument = StoredClientRegistration(
                issuer: Fixture.issuer, clientID: "https://example.com/tokenbroker/client.json",
                tokenEndpointAuthMethod: "none", redirectURI: "http://127.0.0.1/callback",
                source: .metadataDocument, createdAt: Fixture.t0.addingTimeInterval(1))
            try await store.saveClientRegistration(metadataDocument)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer) == metadataDocument)

            #expect(try await store.deleteClientRegistration(issuer: Fixture.issuer))
            #expect(try await store.deleteClientRegistration(issuer: Fixture.issuer) == false)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer) == nil)
        }
    }

    @Test("a replaced client is kept, retired, while a grant holds its tokens", arguments: StoreKind.allCases)
    func retiredClientRegistrations(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            let old = Fixture.clientRegistration()
            try await store.saveClientRegistration(old)
            var grant = Fixture.grant()
            grant.clientID = old.clientID
            try await store.saveGrant(grant)
            var replacement = Fixture.clientRegistration()
            replacement.clientID = "client-456"
            try await store.saveClientRegistration(replacement)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer) == replacement)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer, clientID: old.clientID) == old)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer, clientID: replacement.clientID) == replacement)

            // Retiring a client that is not the one in use changes nothing.
            try await store.retireClientRegistration(issuer: Fixture.issuer, clientID: old.clientID, at: Fixture.t0)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer) == replacement)
            // The one in use, with no grant of its own, is forgotten.
            try await store.retireClientRegistration(issuer: Fixture.issuer, clientID: replacement.clientID, at: Fixture.t0)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer) == nil)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer, clientID: replacement.clientID) == nil)

            // Once no grant holds tokens issued to it, the retired client (and its secret) goes.
            try await store.revokeGrants([GrantKey(resource: grant.resource.string, issuer: grant.issuer)], at: Fixture.t0)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer, clientID: old.clientID) == nil)
        }
    }

    @Test("a client the server no longer knows is forgotten, retired or not", arguments: StoreKind.allCases)
    func unknownClientsAreDeleted(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            let old = Fixture.clientRegistration()
            try await store.saveClientRegistration(old)
            var grant = Fixture.grant()
            grant.clientID = old.clientID
            try await store.saveGrant(grant)
            try await store.retireClientRegistration(issuer: Fixture.issuer, clientID: old.clientID, at: Fixture.t0)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer, clientID: old.clientID) == old)
            try await store.forgetRefusedTokens(
                resource: grant.resource, issuer: grant.issuer, unknownClient: old.clientID, at: Fixture.t0)
            #expect(try await store.clientRegistration(issuer: Fixture.issuer, clientID: old.clientID) == nil)
            #expect(try await store.grant(resource: grant.resource, issuer: grant.issuer)?.refreshToken == nil)
        }
    }

    @Test("a client registration needs its authorization server's metadata", arguments: StoreKind.allCases)
    func clientRegistrationNeedsServer(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let error = await #expect(throws: StorageError.self) {
                try await store.saveClientRegistration(Fixture.clientRegistration())
            }
            #expect(error?.code == .missingReference)
        }
    }

    @Test("resources round-trip, list in order, and a chosen issuer must be known", arguments: StoreKind.allCases)
    func resources(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let undecided = Fixture.storedResource(Fixture.otherResource, issuer: nil)
            try await store.saveResource(undecided)
            #expect(try await store.resource(Fixture.otherResource) == undecided)

            let unknownIssuer = await #expect(throws: StorageError.self) {
                try await store.saveResource(Fixture.storedResource())
            }
            #expect(unknownIssuer?.code == .missingReference)

            try await store.saveAuthorizationServer(Fixture.authorizationServer())
            try await store.saveResource(Fixture.storedResource())
            var decided = undecided
            decided.issuer = Fixture.issuer
            try await store.saveResource(decided)
            #expect(try await store.allResources() == [decided, Fixture.storedResource()])
            #expect(try await store.resource(try ResourceURI(storedCanonical: "https://nowhere.example")) == nil)
        }
    }
}
