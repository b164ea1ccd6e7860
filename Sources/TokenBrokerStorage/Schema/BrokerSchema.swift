internal import GRDB

/// The schema, as an append-only list of named migrations.
///
/// Never edit a migration that has shipped: add a new one. A database that has
/// applied a migration this build does not know was written by a newer tokenbroker;
/// ``BrokerStore/open(path:)`` refuses it before touching it.
///
/// Why raw SQL rather than GRDB's table builder: a migration is a frozen snapshot,
/// and SQL does not change meaning when the builder API does.
enum BrokerSchema {
    /// The migrations; the ones that seal secrets use `sealer`.
    static func migrator(sealer: SecretSealer) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-initial", migrate: createInitialTables)
        // Append-only: a sign-in resumed after a restart exchanges its code as the client
        // it was started for, so that client's id is kept with it.
        migrator.registerMigration("v2-pending-authorization-client") { db in
            try db.execute(sql: "ALTER TABLE pending_authorizations ADD COLUMN client_id TEXT CHECK (client_id <> '')")
        }
        migrator.registerMigration("v3-grant-client", migrate: recordGrantClients)
        migrator.registerMigration("v4-sealed-secrets") { db in try sealSecrets(db, sealer) }
        // A device sign-in is kept too, so a restart does not end it: its device code
        // (sealed), what the person was shown, and how often to poll.
        migrator.registerMigration("v5-device-sign-ins") { db in
            try db.execute(
                sql: """
                    ALTER TABLE pending_authorizations ADD COLUMN device_code TEXT CHECK (device_code <> '');
                    ALTER TABLE pending_authorizations ADD COLUMN user_code TEXT CHECK (user_code <> '');
                    ALTER TABLE pending_authorizations ADD COLUMN verification_uri TEXT CHECK (verification_uri <> '');
                    ALTER TABLE pending_authorizations ADD COLUMN verification_uri_complete TEXT;
                    ALTER TABLE pending_authorizations ADD COLUMN device_expires_at INTEGER;
                    ALTER TABLE pending_authorizations ADD COLUMN device_interval INTEGER CHECK (device_interval > 0);
                    """)
        }
        return migrator
    }

    /// Every migration this build knows, in order.
    static var knownMigrations: [String] { migrator(sealer: SecretSealer(key: .generate())).migrations }

    /// The migration that seals secrets: the values earlier versions wrote in the clear are
    /// sealed with the key (``SecretSealer``), and the key check is stored. The tables
    /// whose CHECKs described clear values (a verifier's length, a registration response
    /// that is JSON) are rebuilt without them.
    private static func sealSecrets(_ db: Database, _ sealer: SecretSealer) throws {
        try db.execute(
            sql: """
                CREATE TABLE pending_authorizations_sealed (
                    state TEXT NOT NULL PRIMARY KEY CHECK (state <> ''),
                    resource TEXT NOT NULL REFERENCES resources(resource) ON DELETE CASCADE,
                    issuer TEXT NOT NULL REFERENCES authorization_servers(issuer) ON DELETE CASCADE,
                    code_verifier TEXT NOT NULL CHECK (code_verifier <> ''),
                    redirect_uri TEXT NOT NULL CHECK (redirect_uri <> ''),
                    requested_scopes TEXT NOT NULL,
                    authorization_url TEXT NOT NULL CHECK (authorization_url <> ''),
                    started_at INTEGER NOT NULL,
                    client_id TEXT CHECK (client_id <> '')
                ) STRICT;
                INSERT INTO pending_authorizations_sealed
                    SELECT state, resource, issuer, code_verifier, redirect_uri, requested_scopes, authorization_url,
                        started_at, client_id
                    FROM pending_authorizations;
                DROP TABLE pending_authorizations;
                ALTER TABLE pending_authorizations_sealed RENAME TO pending_authorizations;
                CREATE INDEX pending_authorizations_by_resource ON pending_authorizations(resource);
                CREATE INDEX pending_authorizations_by_issuer ON pending_authorizations(issuer);
                CREATE INDEX pending_authorizations_by_start ON pending_authorizations(started_at);
                """)
        for table in ["client_registrations", "retired_client_registrations"] {
            let retired = table == "retired_client_registrations"
            try db.execute(
                sql: """
                    CREATE TABLE \(table)_sealed (
                        issuer TEXT NOT NULL \(retired ? "" : "PRIMARY KEY")
                            REFERENCES authorization_servers(issuer) ON DELETE CASCADE,
                        client_id TEXT NOT NULL CHECK (client_id <> ''),
                        client_secret TEXT CHECK (client_secret <> ''),
                        token_endpoint_auth_method TEXT NOT NULL CHECK (token_endpoint_auth_method <> ''),
                        redirect_uri TEXT NOT NULL CHECK (redirect_uri <> ''),
                        source TEXT NOT NULL CHECK (source IN ('preregistered', 'metadata_document', 'dynamic')),
                        registration_response_json TEXT CHECK (registration_response_json <> ''),
                        client_secret_expires_at INTEGER,
                        created_at INTEGER NOT NULL\(retired ? ",\n    retired_at INTEGER NOT NULL,\n    PRIMARY KEY (issuer, client_id)" : "")
                    ) STRICT;
                    INSERT INTO \(table)_sealed SELECT * FROM \(table);
                    DROP TABLE \(table);
                    ALTER TABLE \(table)_sealed RENAME TO \(table);
                    """)
        }

        func sealColumns(_ table: String, key: [String], _ columns: [String], _ context: (Row, String) -> SealContext) throws {
            let keyList = key.joined(separator: ", ")
            let rows = try Row.fetchAll(db, sql: "SELECT \(keyList), \(columns.joined(separator: ", ")) FROM \(table)")
            for row in rows {
                for column in columns {
                    guard let clear: String = row[column], !SecretSealer.isSealed(clear) else { continue }
                    let condition = key.map { "\($0) = ?" }.joined(separator: " AND ")
                    try db.execute(
                        sql: "UPDATE \(table) SET \(column) = ? WHERE \(condition)",
                        arguments: StatementArguments([try sealer.seal(clear, context(row, column))] + key.map { row[$0] as String }))
                }
            }
        }
        try sealColumns("grants", key: ["resource", "issuer"], ["access_token", "refresh_token"]) { row, column in
            .grant(column, resource: row["resource"], issuer: row["issuer"])
        }
        for table in ["client_registrations", "retired_client_registrations"] {
            try sealColumns(table, key: ["issuer", "client_id"], ["client_secret", "registration_response_json"]) { row, column in
                .client(column, issuer: row["issuer"], clientID: row["client_id"])
            }
        }
        try sealColumns("pending_authorizations", key: ["state"], ["code_verifier"]) { row, _ in .signIn(state: row["state"]) }

        try db.execute(
            sql: """
                CREATE TABLE key_check (
                    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
                    sealed TEXT NOT NULL
                ) STRICT
                """)
        try db.execute(sql: "INSERT INTO key_check (id, sealed) VALUES (1, ?)", arguments: [try sealer.sealKeyCheck()])
    }

    /// A grant's tokens belong to the client they were issued to (RFC 6749 §6), so the
    /// grant names it; grants from before are taken to belong to the registration stored
    /// at their issuer, the only client a refresh could have used. A registration that
    /// stops being used for new sign-ins (replaced, or too narrow) is kept as retired while
    /// a grant still holds tokens issued to it: without its credentials those tokens could
    /// be neither refreshed nor revoked.
    private static func recordGrantClients(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE grants ADD COLUMN client_id TEXT CHECK (client_id <> '');
                UPDATE grants SET client_id = (SELECT c.client_id FROM client_registrations c WHERE c.issuer = grants.issuer);

                CREATE TABLE retired_client_registrations (
                    issuer TEXT NOT NULL REFERENCES authorization_servers(issuer) ON DELETE CASCADE,
                    client_id TEXT NOT NULL CHECK (client_id <> ''),
                    client_secret TEXT CHECK (client_secret <> ''),
                    token_endpoint_auth_method TEXT NOT NULL CHECK (token_endpoint_auth_method <> ''),
                    redirect_uri TEXT NOT NULL CHECK (redirect_uri <> ''),
                    source TEXT NOT NULL CHECK (source IN ('preregistered', 'metadata_document', 'dynamic')),
                    registration_response_json TEXT
                        CHECK (registration_response_json IS NULL OR json_valid(registration_response_json)),
                    client_secret_expires_at INTEGER,
                    created_at INTEGER NOT NULL,
                    retired_at INTEGER NOT NULL,
                    PRIMARY KEY (issuer, client_id)
                ) STRICT;
                """)
    }

    /// Times are INTEGER unix seconds (UTC), so they sort and compare in SQL.
    /// STRICT tables reject a value of the wrong type instead of converting it.
    /// Upserts use `ON CONFLICT DO UPDATE`, never `INSERT OR REPLACE`, which would
    /// delete the row first and fire the cascades below.
    private static func createInitialTables(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE authorization_servers (
                    issuer TEXT NOT NULL PRIMARY KEY CHECK (issuer <> ''),
                    metadata_json TEXT NOT NULL CHECK (json_valid(metadata_json)),
                    fetched_at INTEGER NOT NULL
                ) STRICT;

                CREATE TABLE client_registrations (
                    issuer TEXT NOT NULL PRIMARY KEY
                        REFERENCES authorization_servers(issuer) ON DELETE CASCADE,
                    client_id TEXT NOT NULL CHECK (client_id <> ''),
                    client_secret TEXT CHECK (client_secret <> ''),
                    token_endpoint_auth_method TEXT NOT NULL CHECK (token_endpoint_auth_method <> ''),
                    redirect_uri TEXT NOT NULL CHECK (redirect_uri <> ''),
                    source TEXT NOT NULL CHECK (source IN ('preregistered', 'metadata_document', 'dynamic')),
                    registration_response_json TEXT
                        CHECK (registration_response_json IS NULL OR json_valid(registration_response_json)),
                    client_secret_expires_at INTEGER,
                    created_at INTEGER NOT NULL
                ) STRICT;

                CREATE TABLE resources (
                    resource TEXT NOT NULL PRIMARY KEY CHECK (resource <> ''),
                    metadata_json TEXT NOT NULL CHECK (json_valid(metadata_json)),
                    issuer TEXT REFERENCES authorization_servers(issuer) ON DELETE SET NULL,
                    fetched_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX resources_by_issuer ON resources(issuer);

                CREATE TABLE grants (
                    resource TEXT NOT NULL REFERENCES resources(resource) ON DELETE CASCADE,
                    issuer TEXT NOT NULL REFERENCES authorization_servers(issuer) ON DELETE CASCADE,
                    requested_scopes TEXT NOT NULL,
                    granted_scopes TEXT NOT NULL,
                    access_token TEXT CHECK (access_token <> ''),
                    access_token_expires_at INTEGER,
                    refresh_token TEXT CHECK (refresh_token <> ''),
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (resource, issuer),
                    CHECK (access_token_expires_at IS NULL OR access_token IS NOT NULL)
                ) STRICT;
                CREATE INDEX grants_by_issuer ON grants(issuer);

                CREATE TABLE pending_authorizations (
                    state TEXT NOT NULL PRIMARY KEY CHECK (state <> ''),
                    resource TEXT NOT NULL REFERENCES resources(resource) ON DELETE CASCADE,
                    issuer TEXT NOT NULL REFERENCES authorization_servers(issuer) ON DELETE CASCADE,
                    code_verifier TEXT NOT NULL CHECK (length(code_verifier) BETWEEN 43 AND 128),
                    redirect_uri TEXT NOT NULL CHECK (redirect_uri <> ''),
                    requested_scopes TEXT NOT NULL,
                    authorization_url TEXT NOT NULL CHECK (authorization_url <> ''),
                    started_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX pending_authorizations_by_resource ON pending_authorizations(resource);
                CREATE INDEX pending_authorizations_by_issuer ON pending_authorizations(issuer);
                CREATE INDEX pending_authorizations_by_start ON pending_authorizations(started_at);

                -- History outlives what it talks about: no foreign keys here.
                CREATE TABLE audit_log (
                    id INTEGER PRIMARY KEY,
                    at INTEGER NOT NULL,
                    peer_uid INTEGER NOT NULL CHECK (peer_uid >= 0),
                    peer_pid INTEGER NOT NULL,
                    executable TEXT,
                    application TEXT,
                    method TEXT NOT NULL CHECK (method <> ''),
                    resource TEXT,
                    scopes TEXT NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome <> '')
                ) STRICT;
                CREATE INDEX audit_log_by_time ON audit_log(at);
                """)
    }
}
