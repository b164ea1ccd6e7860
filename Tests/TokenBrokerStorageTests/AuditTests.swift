import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerStorage

@Suite("Audit log")
struct AuditTests {
    @Test("entries get increasing ids and come back newest first", arguments: StoreKind.allCases)
    func appendAndReadRecent(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let outcomes: [AuditOutcome] = [.served, .refreshed, .authorized, .denied("authorization_required")]
            var ids: [Int64] = []
            for (offset, outcome) in outcomes.enumerated() {
                let entry = Fixture.audit(at: Fixture.t0.addingTimeInterval(Double(offset)), outcome: outcome)
                ids.append(try await store.appendAudit(entry))
            }
            #expect(ids == ids.sorted() && Set(ids).count == ids.count)

            let recent = try await store.recentAuditEntries(limit: 3)
            #expect(recent.map(\.outcome.rawValue) == ["denied:authorization_required", "authorized", "refreshed"])
            var expected = Fixture.audit(
                at: Fixture.t0.addingTimeInterval(3), outcome: .denied("authorization_required"))
            expected.id = ids[3]
            #expect(recent.first == expected)
            #expect(try await store.recentAuditEntries(limit: 0).isEmpty)
        }
    }

    @Test("optional fields and scope order survive", arguments: StoreKind.allCases)
    func optionalFields(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let entry = AuditEntry(
                at: Fixture.t0, peerUID: UInt32.max - 1, peerPID: 1, method: "grants/list",
                scopes: Fixture.scopes("b a c"), outcome: .served)
            let id = try await store.appendAudit(entry)
            var expected = entry
            expected.id = id
            #expect(try await store.recentAuditEntries(limit: 1) == [expected])
        }
    }

    @Test("old entries can be pruned", arguments: StoreKind.allCases)
    func prune(kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await store.appendAudit(Fixture.audit(at: Fixture.t0))
            try await store.appendAudit(Fixture.audit(at: Fixture.t0.addingTimeInterval(60)))
            #expect(try await store.deleteAuditEntries(before: Fixture.t0.addingTimeInterval(60)) == 1)
            #expect(try await store.recentAuditEntries(limit: 10).map(\.at) == [Fixture.t0.addingTimeInterval(60)])
        }
    }
}
