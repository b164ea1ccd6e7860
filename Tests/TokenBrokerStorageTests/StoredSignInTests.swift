import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerStorage

@Suite("Pending authorizations")
struct PendingAuthorizationTests {
    @Test("a sign-in is listed, then taken exactly once", arguments: StoreKind.allCases)
    func insertListTake(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            let later = Fixture.pending(state: "later", startedAt: Fixture.t0.addingTimeInterval(5))
            let first = Fixture.pending(state: "first")
            try await store.keepSignIn(later)
            try await store.keepSignIn(first)
            #expect(try await store.keptSignIns() == [first, later])

            let taken = try await store.takeSignIn(state: "first")
            #expect(taken == first)
            #expect(taken?.requestedScopes.strings == ["files:write", "files:read"])
            #expect(try await store.takeSignIn(state: "first") == nil)
            #expect(try await store.keptSignIns() == [later])
        }
    }

    @Test("of concurrent takes of one state exactly one gets it", arguments: StoreKind.allCases)
    func concurrentTakes(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            try await store.keepSignIn(Fixture.pending())
            let taken = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await store.takeSignIn(state: "state-1") != nil }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(taken == 1)
        }
    }

    @Test("a state cannot be reused while pending", arguments: StoreKind.allCases)
    func duplicateState(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            try await store.keepSignIn(Fixture.pending())
            let error = await #expect(throws: StorageError.self) {
                try await store.keepSignIn(Fixture.pending(Fixture.otherResource))
            }
            #expect(error?.code == .duplicate)
            #expect(try await store.keptSignIns() == [Fixture.pending()])
        }
    }

    @Test("a PKCE verifier outside 43…128 characters is refused", arguments: StoreKind.allCases)
    func verifierLength(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            var pending = Fixture.pending()
            pending.codeVerifier = Secret("SECRET-too-short")
            let error = await #expect(throws: StorageError.self) { try await store.keepSignIn(pending) }
            #expect(error?.code == .constraintViolation)
            expectNoSecret(String(describing: try #require(error)), among: ["SECRET-too-short"])
        }
    }

    @Test("abandoned sign-ins are deleted by start time", arguments: StoreKind.allCases)
    func deleteExpired(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await Fixture.seed(store)
            let old = Fixture.pending(state: "old", startedAt: Fixture.t0)
            let boundary = Fixture.pending(state: "boundary", startedAt: Fixture.t0.addingTimeInterval(300))
            let fresh = Fixture.pending(state: "fresh", startedAt: Fixture.t0.addingTimeInterval(600))
            for pending in [old, boundary, fresh] { try await store.keepSignIn(pending) }

            #expect(try await store.deleteSignIns(startedBefore: Fixture.t0.addingTimeInterval(300)) == 1)
            #expect(try await store.keptSignIns() == [boundary, fresh])
        }
    }
}
