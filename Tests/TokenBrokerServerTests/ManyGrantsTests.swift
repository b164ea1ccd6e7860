import Foundation
import Testing
import TokenBrokerClient
import TokenBrokerCore
import TokenBrokerProtocol
import TokenBrokerServer
import TokenBrokerStorage
import TokenBrokerTestKit

/// Thousands of grants: `grants/list` pages stay under the line limit, and `status`,
/// `status --json`, the client library and `revoke --all` see every one of them.
@Suite struct ManyGrantsTests {
    static let count = 3_000
    /// Long scopes make the whole listing several MiB, far beyond one line.
    static let scopes = try! ScopeSet(validating: (0..<20).map { "files:scope-number-\($0)-with-a-long-name" })

    /// A daemon over a database seeded with `count` grants at one issuer.
    static func seededDaemon() async throws -> TestDaemon {
        let directory = try TemporaryDirectory()
        // Sealed with the key the daemon finds there.
        let key = try StorageKey.create(path: directory.path + TestDaemon.keyFile)
        let store = try BrokerStore.open(path: directory.path + "/state/broker.sqlite3", key: key)
        let now = Date()
        let issuer = "https://as.example"
        var resources: [StoredResource] = []
        var grants: [Grant] = []
        for index in 0..<count {
            let resource = try ResourceURI("https://mcp.example/tenant-\(index)/mcp", policy: .strict)
            resources.append(StoredResource(resource: resource, metadataJSON: "{}", issuer: issuer, fetchedAt: now))
            grants.append(Grant(
                resource: resource, issuer: issuer, requestedScopes: scopes, grantedScopes: scopes,
                accessToken: Secret("at-\(index)"), accessTokenExpiresAt: now.addingTimeInterval(3600),
                refreshToken: Secret("rt-\(index)"), createdAt: now, updatedAt: now))
        }
        try await store.seed(
            servers: [StoredAuthorizationServer(issuer: issuer, metadataJSON: #"{"issuer":"https://as.example"}"#, fetchedAt: now)],
            resources: resources, grants: grants)
        try store.close()
        return try await TestDaemon(directory: directory, browser: .none)
    }

    @Test func everyGrantIsListedAPageAtATime() async throws {
        let daemon = try await Self.seededDaemon()
        do {
            // The raw answers: no params is the first page; the largest page fits in a line.
            let request = #"{"jsonrpc":"2.0","id":1,"method":"grants/list"}"# + "\n"
                + #"{"jsonrpc":"2.0","id":2,"method":"grants/list","params":{"limit":500}}"# + "\n"
            let lines = try await daemon.client().exchange(raw: Array(request.utf8))
            #expect(lines.count == 2)
            #expect(lines.allSatisfy { $0.utf8.count < BrokerProtocol.maximumLineLength })
            let first = try GrantsListResult(jsonValue: try JSONValue(parsing: Array(lines[0].utf8)).objectValue!["result"]!)
            #expect(first.grants.count == GrantsListParams.defaultLimit)
            #expect(first.nextCursor != nil)

            // The client library's sequence sees each grant once, in order.
            let client = BrokerClient(socketPath: daemon.socketPath)
            var resources: [String] = []
            for try await grant in client.grantSummaries() { resources.append(grant.resource) }
            #expect(resources.count == Self.count)
            #expect(resources == resources.sorted() && Set(resources).count == Self.count)

            // Filters: a resource prefix, and an issuer that holds nothing.
            let one = try await client.grants(GrantsListParams(resourcePrefix: "https://mcp.example/tenant-12/"))
            #expect(one.grants.map(\.resource) == ["https://mcp.example/tenant-12/mcp"] && one.nextCursor == nil)
            let none = try await client.grants(GrantsListParams(issuer: "https://elsewhere.example"))
            #expect(none.grants.isEmpty && none.nextCursor == nil)

            // A cursor this daemon never gave is refused by name.
            let forged = try await daemon.client().call(.grantsList, ["cursor": "not a cursor"])
            #expect(forged.reason == "invalid_params")
        } catch {
            await daemon.stop()
            throw error
        }
        await daemon.stop()
    }

    @Test func statusAndRevokeAllWorkAtThisSize() async throws {
        let daemon = try await Self.seededDaemon()
        do {
            let cli = executable("tokenbroker")
            let table = try await run(cli, ["status", "--socket", daemon.socketPath])
            #expect(table.status == 0)
            let rows = table.stdout.split(separator: "\n")
            #expect(rows.count == Self.count + 1)
            #expect(rows.first?.hasPrefix("RESOURCE") == true)

            let json = try await run(cli, ["status", "--json", "--socket", daemon.socketPath])
            #expect(json.status == 0)
            let listed = try GrantsListResult(jsonValue: JSONValue(parsing: Array(json.stdout.utf8.dropLast())))
            #expect(listed.grants.count == Self.count && listed.nextCursor == nil)
            #expect(listed.grants.allSatisfy { $0.hasAccessToken })

            let revoke = try await run(cli, ["revoke", "--all", "--socket", daemon.socketPath])
            #expect(revoke.status == 0)
            #expect(revoke.stdout.split(separator: "\n").count == Self.count)
            let after = try await BrokerClient(socketPath: daemon.socketPath).grants()
            #expect(after.count == Self.count)
            #expect(after.allSatisfy { !$0.hasAccessToken && !$0.hasRefreshToken && $0.requestedScopes.isEmpty })
        } catch {
            await daemon.stop()
            throw error
        }
        await daemon.stop()
    }
}
