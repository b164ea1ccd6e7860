import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerStorage

@Suite("Grants and token rotation")
struct GrantTests {
    @Test("a grant round-trips every field, scopes in their order", arguments: StoreKind.allCases)
    func roundTrip(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            let grant = Fixture.grant(requested: "zeta alpha mcp:tools offline_access beta")
            try await store.saveGrant(grant)

            let stored = try #require(try await store.grant(resource: Fixture.resource, issuer: Fixture.issuer))
            #expect(stored == grant)
            #expect(stored.requestedScopes.strings == ["zeta", "alpha", "mcp:tools", "offline_access", "beta"])
            #expect(try await store.grant(resource: Fixture.resource, issuer: Fixture.otherIssuer) == nil)
        }
    }

    @Test("times are stored to the second, rounded down", arguments: StoreKind.allCases)
    func timesRoundDownToTheSecond(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            var grant = Fixture.grant()
            grant.accessTokenExpiresAt = Fixture.t0.addingTimeInterval(59.999)
            grant.updatedAt = Fixture.t0.addingTimeInterval(0.5)
            try await store.saveGrant(grant)

            let stored = try #require(try await store.grant(resource: Fixture.resource, issuer: Fixture.issuer))
            #expect(stored.accessTokenExpiresAt == Fixture.t0.addingTimeInterval(59))
            #expect(stored.updatedAt == Fixture.t0)
        }
    }

    @Test("saving again replaces the grant; all grants come back ordered", arguments: StoreKind.allCases)
    func saveReplacesAndLists(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            try await store.saveGrant(Fixture.grant(Fixture.resource, issuer: Fixture.otherIssuer))
            try await store.saveGrant(Fixture.grant(Fixture.otherResource))
            try await store.saveGrant(Fixture.grant())
            var updated = Fixture.grant(requested: "files:read files:write admin")
            updated.accessToken = nil
            updated.accessTokenExpiresAt = nil
            try await store.saveGrant(updated)

            let all = try await store.allGrants()
            #expect(all.map { "\($0.resource) \($0.issuer)" } == [
                "https://files.example.org https://auth.example.com",
                "https://mcp.example.com/mcp https://auth.example.com",
                "https://mcp.example.com/mcp https://login.example.net",
            ])
            #expect(all[1] == updated)
        }
    }

    @Test("a grant needs its resource and authorization server stored first", arguments: StoreKind.allCases)
    func grantNeedsReferences(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.saveAuthorizationServer(Fixture.authorizationServer())
            let error = await #expect(throws: StorageError.self) { try await store.saveGrant(Fixture.grant()) }
            #expect(error?.code == .missingReference)
            #expect(error?.description.contains(Fixture.resource.string) == true)
            #expect(try await store.allGrants().isEmpty)
        }
    }

    @Test(
        "rotation with a stale refresh token is refused; with the current one it applies",
        arguments: StoreKind.allCases)
    func compareAndSwapRotation(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            let original = Fixture.grant()
            try await store.saveGrant(original)
            let rotation = TokenRotation(
                accessToken: Secret("new-access"),
                accessTokenExpiresAt: Fixture.t0.addingTimeInterval(7200),
                refreshToken: Secret("new-refresh"),
                grantedScopes: Fixture.scopes("files:write files:read"),
                rotatedAt: Fixture.t0.addingTimeInterval(100))

            let stale = try await store.replaceTokens(
                resource: Fixture.resource, issuer: Fixture.issuer,
                expectedRefreshToken: Secret("an-older-refresh"), with: rotation)
            #expect(stale == false)
            #expect(try await store.grant(resource: Fixture.resource, issuer: Fixture.issuer) == original)

            let applied = try await store.replaceTokens(
                resource: Fixture.resource, issuer: Fixture.issuer,
                expectedRefreshToken: Fixture.refreshToken, with: rotation)
            #expect(applied)
            var expected = original
            expected.accessToken = Secret("new-access")
            expected.accessTokenExpiresAt = Fixture.t0.addingTimeInterval(7200)
            expected.refreshToken = Secret("new-refresh")
            expected.grantedScopes = Fixture.scopes("files:write files:read")
            expected.updatedAt = Fixture.t0.addingTimeInterval(100)
            #expect(try await store.grant(resource: Fixture.resource, issuer: Fixture.issuer) == expected)

            // The old refresh token is now stale too.
            let replay = try await store.replaceTokens(
                resource: Fixture.resource, issuer: Fixture.issuer,
                expectedRefreshToken: Fixture.refreshToken, with: rotation)
            #expect(replay == false)
        }
    }

    @Test("rotation can expect 'no refresh token', and never creates a grant", arguments: StoreKind.allCases)
    func rotationExpectingNone(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            let rotation = TokenRotation(
                accessToken: Secret("new-access"), accessTokenExpiresAt: nil, refreshToken: nil,
                grantedScopes: [], rotatedAt: Fixture.t0)
            #expect(
                try await store.replaceTokens(
                    resource: Fixture.resource, issuer: Fixture.issuer, expectedRefreshToken: nil, with: rotation)
                    == false)
            #expect(try await store.allGrants().isEmpty)

            try await store.saveGrant(Fixture.grant(refreshToken: nil))
            #expect(
                try await store.replaceTokens(
                    resource: Fixture.resource, issuer: Fixture.issuer, expectedRefreshToken: nil, with: rotation))
            let stored = try await store.grant(resource: Fixture.resource, issuer: Fixture.issuer)
            #expect(stored?.accessToken == Secret("new-access"))
            #expect(stored?.accessTokenExpiresAt == nil)
        }
    }

    @Test("of concurrent rotations from the same refresh token exactly one wins", arguments: StoreKind.allCases)
    func concurrentRotationsHaveOneWinner(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            try await store.saveGrant(Fixture.grant())
            let winners = try await withThrowingTaskGroup(of: String?.self) { group in
                for attempt in 0..<8 {
                    group.addTask {
                        let rotation = TokenRotation(
                            accessToken: Secret("access-\(attempt)"), accessTokenExpiresAt: nil,
                            refreshToken: Secret("refresh-\(attempt)"), grantedScopes: [], rotatedAt: Fixture.t0)
                        let won = try await store.replaceTokens(
                            resource: Fixture.resource, issuer: Fixture.issuer,
                            expectedRefreshToken: Fixture.refreshToken, with: rotation)
                        return won ? "refresh-\(attempt)" : nil
                    }
                }
                return try await group.reduce(into: [String]()) { if let winner = $1 { $0.append(winner) } }
            }
            #expect(winners.count == 1)
            let stored = try await store.grant(resource: Fixture.resource, issuer: Fixture.issuer)
            #expect(stored?.refreshToken == winners.first.map(Secret.init))
        }
    }

    @Test("revoking deletes the tokens but keeps the grant and its scope history", arguments: StoreKind.allCases)
    func deleteTokensKeepsHistory(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            let grant = Fixture.grant()
            let other = Fixture.grant(Fixture.otherResource)
            try await store.saveGrant(grant)
            try await store.saveGrant(other)
            let revokedAt = Fixture.t0.addingTimeInterval(500)

            #expect(try await store.deleteTokens(resource: Fixture.resource, at: revokedAt) == 1)

            let revoked = try #require(try await store.grant(resource: Fixture.resource, issuer: Fixture.issuer))
            #expect(revoked.accessToken == nil)
            #expect(revoked.accessTokenExpiresAt == nil)
            #expect(revoked.refreshToken == nil)
            #expect(revoked.requestedScopes == grant.requestedScopes)
            #expect(revoked.grantedScopes == grant.grantedScopes)
            #expect(revoked.createdAt == grant.createdAt)
            #expect(revoked.updatedAt == revokedAt)
            #expect(try await store.grant(resource: Fixture.otherResource, issuer: Fixture.issuer) == other)

            #expect(try await store.deleteAllTokens(at: revokedAt) == 2)
            #expect(try await store.allGrants().allSatisfy { $0.accessToken == nil && $0.refreshToken == nil })
        }
    }
}
