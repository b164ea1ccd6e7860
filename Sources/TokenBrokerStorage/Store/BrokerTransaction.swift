import Foundation
internal import GRDB
package import TokenBrokerCore

/// The store's operations on one open connection, inside one database access.
///
/// ``BrokerStore`` wraps each public operation in its own transaction; the package's
/// tests and the crash-test helper use ``BrokerStore/withImmediateTransaction(_:)`` to
/// run several of them in one transaction. All SQL passes values as arguments, so
/// no value, secret or not, ever becomes part of an SQL string or an error message.
package struct BrokerTransaction {
    let db: Database
    /// Seals secret columns on the way in and opens them on the way out.
    let sealer: SecretSealer

    // MARK: Authorization servers

    func save(_ server: StoredAuthorizationServer) throws {
        try AuthorizationServerRow(server).upsert(db)
    }

    func authorizationServer(issuer: String) throws -> StoredAuthorizationServer? {
        try AuthorizationServerRow.fetchOne(db, key: issuer)?.record()
    }

    // MARK: Client registrations

    /// Makes `registration` the client used for new sign-ins at its issuer; the one it
    /// replaces is retired, not forgotten.
    func save(_ registration: StoredClientRegistration) throws {
        if let current = try clientRegistration(issuer: registration.issuer), current.clientID != registration.clientID {
            try retireClientRegistration(issuer: registration.issuer, clientID: current.clientID, at: registration.createdAt)
        }
        try ClientRegistrationRow(registration, sealer).upsert(db)
        try db.execute(
            sql: "DELETE FROM retired_client_registrations WHERE issuer = ? AND client_id = ?",
            arguments: [registration.issuer, registration.clientID])
    }

    func clientRegistration(issuer: String) throws -> StoredClientRegistration? {
        try ClientRegistrationRow.fetchOne(db, key: issuer)?.record(sealer)
    }

    /// The registration of `clientID` at `issuer`, in use or retired.
    func clientRegistration(issuer: String, clientID: String) throws -> StoredClientRegistration? {
        try ClientRegistrationRow.fetchOne(
            db,
            sql: """
                SELECT issuer, client_id, client_secret, token_endpoint_auth_method, redirect_uri, source,
                    registration_response_json, client_secret_expires_at, created_at
                FROM client_registrations WHERE issuer = ? AND client_id = ?
                UNION ALL
                SELECT issuer, client_id, client_secret, token_endpoint_auth_method, redirect_uri, source,
                    registration_response_json, client_secret_expires_at, created_at
                FROM retired_client_registrations WHERE issuer = ? AND client_id = ?
                LIMIT 1
                """,
            arguments: [issuer, clientID, issuer, clientID]
        )?.record(sealer)
    }

    /// Stops using the registration of `clientID` at `issuer` for new sign-ins. It is
    /// kept, retired, while a grant holds tokens issued to it, and forgotten otherwise.
    func retireClientRegistration(issuer: String, clientID: String, at time: Date) throws {
        try db.execute(
            sql: """
                INSERT INTO retired_client_registrations (
                    issuer, client_id, client_secret, token_endpoint_auth_method, redirect_uri, source,
                    registration_response_json, client_secret_expires_at, created_at, retired_at)
                SELECT c.issuer, c.client_id, c.client_secret, c.token_endpoint_auth_method, c.redirect_uri, c.source,
                    c.registration_response_json, c.client_secret_expires_at, c.created_at, ?
                FROM client_registrations c
                WHERE c.issuer = ? AND c.client_id = ? AND EXISTS (\(Self.grantHoldingTokensOf("c")))
                ON CONFLICT DO NOTHING
                """,
            arguments: [time.storedSeconds, issuer, clientID])
        try db.execute(
            sql: "DELETE FROM client_registrations WHERE issuer = ? AND client_id = ?", arguments: [issuer, clientID])
    }

    /// Forgets `clientID` at `issuer`, in use or retired: the server no longer knows it.
    func deleteClientRegistration(issuer: String, clientID: String) throws {
        try db.execute(
            sql: "DELETE FROM client_registrations WHERE issuer = ? AND client_id = ?", arguments: [issuer, clientID])
        try db.execute(
            sql: "DELETE FROM retired_client_registrations WHERE issuer = ? AND client_id = ?", arguments: [issuer, clientID])
    }

    func deleteClientRegistration(issuer: String) throws -> Bool {
        try ClientRegistrationRow.deleteOne(db, key: issuer)
    }

    /// Forgets retired registrations no grant holds tokens of any more: their secrets
    /// serve nothing.
    func pruneRetiredClientRegistrations() throws {
        try db.execute(
            sql: """
                DELETE FROM retired_client_registrations
                WHERE NOT EXISTS (\(Self.grantHoldingTokensOf("retired_client_registrations")))
                """)
    }

    /// A subquery: a grant at `table`'s issuer holding tokens issued to its client.
    private static func grantHoldingTokensOf(_ table: String) -> String {
        """
        SELECT 1 FROM grants g
        WHERE g.issuer = \(table).issuer AND g.client_id = \(table).client_id
            AND (g.refresh_token IS NOT NULL OR g.access_token IS NOT NULL)
        """
    }

    // MARK: Resources

    func save(_ resource: StoredResource) throws {
        try ResourceRow(resource).upsert(db)
    }

    func resource(_ resource: ResourceURI) throws -> StoredResource? {
        try ResourceRow.fetchOne(db, key: resource.string)?.record()
    }

    func allResources() throws -> [StoredResource] {
        try ResourceRow.fetchAll(db, sql: "SELECT * FROM resources ORDER BY resource").map { try $0.record() }
    }

    /// Deletes the resource; the schema cascades to its grants and pending authorizations.
    func deleteResource(_ resource: ResourceURI) throws -> Bool {
        try ResourceRow.deleteOne(db, key: resource.string)
    }

    // MARK: Grants

    func save(_ grant: Grant) throws {
        try GrantRow(grant, sealer).upsert(db)
        try pruneRetiredClientRegistrations()
    }

    func grant(resource: ResourceURI, issuer: String) throws -> Grant? {
        try GrantRow.fetchOne(db, key: ["resource": resource.string, "issuer": issuer])?.record(sealer)
    }

    func allGrants() throws -> [Grant] {
        try GrantRow.fetchAll(db, sql: "SELECT * FROM grants ORDER BY resource, issuer").map { try $0.record(sealer) }
    }

    func grantOverviews(after cursor: GrantKey?, limit: Int, filter: GrantFilter) throws -> [GrantOverview] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let cursor {
            conditions.append("(g.resource, g.issuer) > (?, ?)")
            arguments += [cursor.resource, cursor.issuer]
        }
        if let prefix = filter.resourcePrefix {
            // substr, not LIKE: a prefix with % or _ means those characters.
            conditions.append("substr(g.resource, 1, ?) = ?")
            arguments += [prefix.count, prefix]
        }
        if let issuer = filter.issuer {
            conditions.append("g.issuer = ?")
            arguments += [issuer]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [limit]
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT g.resource, g.issuer, coalesce(g.client_id, c.client_id) AS client_id, g.requested_scopes, g.granted_scopes,
                    g.access_token IS NOT NULL AS has_access_token, g.access_token_expires_at,
                    g.refresh_token IS NOT NULL AS has_refresh_token, g.updated_at
                FROM grants g LEFT JOIN client_registrations c ON c.issuer = g.issuer
                \(whereClause)
                ORDER BY g.resource, g.issuer
                LIMIT ?
                """,
            arguments: arguments)
        return try rows.map { row in
            GrantOverview(
                resource: try readResourceURI(row["resource"], column: "grants.resource"), issuer: row["issuer"],
                clientID: row["client_id"],
                requestedScopes: try readScopes(row["requested_scopes"], column: "grants.requested_scopes"),
                grantedScopes: try readScopes(row["granted_scopes"], column: "grants.granted_scopes"),
                hasAccessToken: row["has_access_token"],
                accessTokenExpiresAt: (row["access_token_expires_at"] as Int64?).map(Date.init(storedSeconds:)),
                hasRefreshToken: row["has_refresh_token"], updatedAt: Date(storedSeconds: row["updated_at"]))
        }
    }

    /// Writes `rotation` only if the stored refresh token is still `expectedRefreshToken`.
    ///
    /// Sealed values differ at every write, so the comparison is on the opened token;
    /// the caller's `IMMEDIATE` transaction keeps anyone from writing between the read
    /// and the update.
    package func replaceTokens(
        resource: ResourceURI,
        issuer: String,
        expectedRefreshToken: Secret?,
        with rotation: TokenRotation
    ) throws -> Bool {
        guard let stored = try grant(resource: resource, issuer: issuer),
            stored.refreshToken?.exposedValue == expectedRefreshToken?.exposedValue
        else { return false }
        try db.execute(
            sql: """
                UPDATE grants
                SET access_token = ?, access_token_expires_at = ?, refresh_token = ?,
                    granted_scopes = ?, updated_at = ?
                WHERE resource = ? AND issuer = ?
                """,
            arguments: [
                try sealer.sealIfPresent(rotation.accessToken?.exposedValue, .grant("access_token", resource: resource.string, issuer: issuer)),
                rotation.accessTokenExpiresAt?.storedSeconds,
                try sealer.sealIfPresent(
                    rotation.refreshToken?.exposedValue, .grant("refresh_token", resource: resource.string, issuer: issuer)),
                rotation.grantedScopes.spaceDelimited,
                rotation.rotatedAt.storedSeconds,
                resource.string,
                issuer,
            ])
        return db.changesCount == 1
    }

    /// Clears the tokens of the grants of `resource` (every resource when `nil`),
    /// keeping the rows and their scope history.
    func deleteTokens(resource: ResourceURI?, at time: Date) throws -> Int {
        let clear = """
            UPDATE grants
            SET access_token = NULL, access_token_expires_at = NULL, refresh_token = NULL, updated_at = ?
            """
        if let resource {
            try db.execute(sql: clear + " WHERE resource = ?", arguments: [time.storedSeconds, resource.string])
        } else {
            try db.execute(sql: clear, arguments: [time.storedSeconds])
        }
        let cleared = db.changesCount
        try pruneRetiredClientRegistrations()
        return cleared
    }

    // MARK: Pending authorizations

    func insert(_ pending: StoredSignIn) throws {
        try StoredSignInRow(pending, sealer).insert(db)
    }

    func takeSignIn(state: String) throws -> StoredSignIn? {
        guard let row = try StoredSignInRow.fetchOne(db, key: state) else { return nil }
        // Decode before deleting: an unreadable row throws and the transaction keeps it.
        let pending = try row.record(sealer)
        try StoredSignInRow.deleteOne(db, key: state)
        return pending
    }

    func keptSignIns() throws -> [StoredSignIn] {
        try StoredSignInRow.fetchAll(
            db, sql: "SELECT * FROM pending_authorizations ORDER BY started_at, state"
        ).map { try $0.record(sealer) }
    }

    func deleteSignIns(startedBefore time: Date) throws -> Int {
        try db.execute(
            sql: "DELETE FROM pending_authorizations WHERE started_at < ?", arguments: [time.storedSeconds])
        return db.changesCount
    }

    // MARK: Audit log

    package func appendAudit(_ entry: AuditEntry) throws -> Int64 {
        var row = AuditRow(entry)
        row.id = nil  // the database numbers entries; a caller's id is ignored
        try row.insert(db)
        return row.id!
    }

    func recentAuditEntries(limit: Int) throws -> [AuditEntry] {
        try AuditRow.fetchAll(
            db, sql: "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", arguments: [max(0, limit)]
        ).map { try $0.record() }
    }

    func deleteAuditEntries(before time: Date) throws -> Int {
        try db.execute(sql: "DELETE FROM audit_log WHERE at < ?", arguments: [time.storedSeconds])
        return db.changesCount
    }

    // MARK: Inspection, for tests

    /// The value of `PRAGMA <name>` on this connection, as text.
    package func pragma(_ name: String) throws -> String? {
        precondition(name.allSatisfy { $0.isLetter || $0 == "_" }, "not a pragma name")
        guard let value = try DatabaseValue.fetchOne(db, sql: "PRAGMA \(name)") else { return nil }
        switch value.storage {
        case .null: return nil
        case .int64(let number): return String(number)
        case .double(let number): return String(number)
        case .string(let text): return text
        case .blob: return "<blob>"
        }
    }

    /// Runs SQL the store would never run itself (tests forge a newer schema with it).
    package func executeUnchecked(sql: String) throws {
        try db.execute(sql: sql)
    }

    /// The text values of the first column of `sql`'s rows, as stored (tests read sealed
    /// values raw with it).
    package func rawTexts(sql: String) throws -> [String] {
        try String.fetchAll(db, sql: sql)
    }

    /// The schema as SQLite records it, one statement per line, in a stable order.
    package func schemaDump() throws -> [String] {
        try String.fetchAll(
            db, sql: "SELECT type || ' ' || name || ': ' || ifnull(sql, '') FROM sqlite_master ORDER BY type, name")
    }

    /// The identifiers of the migrations applied to this database, known or not.
    package func appliedMigrations() throws -> Set<String> {
        try BrokerSchema.migrator(sealer: sealer).appliedIdentifiers(db)
    }
}
