internal import GRDB
package import Foundation
package import TokenBrokerCore

// What the broker means to do, one transaction per invariant (GRDB's advice): a reader
// never sees a resource without its authorization server, a revoked grant that still
// has its scopes, or dead tokens next to the registration they were refused for.
extension BrokerStore {
    /// Records what discovery found: the authorization server's metadata, then the
    /// resource that names it (the schema's foreign keys need that order).
    ///
    /// - Throws: ``StorageError``.
    package func recordDiscovery(server: StoredAuthorizationServer, resource: StoredResource) async throws(StorageError) {
        try await write("record the discovery of \(resource.resource)") { transaction in
            try transaction.save(server)
            try transaction.save(resource)
        }
    }

    /// The resource moved to another authorization server (SEP-2352): records the new
    /// metadata, deletes the tokens issued by the old one, and returns the grant already
    /// held at the new one, if any.
    ///
    /// - Throws: ``StorageError``.
    package func moveResource(
        to server: StoredAuthorizationServer, resource: StoredResource, at time: Date
    ) async throws(StorageError) -> Grant? {
        try await write("move \(resource.resource) to \(server.issuer)") { transaction in
            try transaction.save(server)
            try transaction.save(resource)
            _ = try transaction.deleteTokens(resource: resource.resource, at: time)
            return try transaction.grant(resource: resource.resource, issuer: server.issuer)
        }
    }

    /// The authorization server refused the grant's refresh token: deletes the resource's
    /// tokens, and the registration of `unknownClient` at `issuer` when the server no
    /// longer knows that client (`invalid_client`), so the next sign-in registers again.
    ///
    /// - Throws: ``StorageError``.
    package func forgetRefusedTokens(
        resource: ResourceURI, issuer: String, unknownClient: String?, at time: Date
    ) async throws(StorageError) {
        try await write("forget the refused tokens for \(resource)") { transaction in
            if let unknownClient { try transaction.deleteClientRegistration(issuer: issuer, clientID: unknownClient) }
            _ = try transaction.deleteTokens(resource: resource, at: time)
        }
    }

    /// Ends grants locally (revocation), all in one transaction: their tokens and their
    /// scope history, so the next sign-in asks only for what is needed again. The rows
    /// stay for `status`.
    ///
    /// - Returns: How many grants were stored.
    /// - Throws: ``StorageError``.
    @discardableResult
    package func revokeGrants(_ keys: [GrantKey], at time: Date) async throws(StorageError) -> Int {
        let revoked = try await write("revoke \(keys.count) grants") { transaction in
            let revoked = try keys.reduce(0) { count, key in
                try count + transaction.revokeGrant(key, at: time)
            }
            try transaction.pruneRetiredClientRegistrations()
            return revoked
        }
        // The log still holds the pages as they were, tokens and all: copy the new ones
        // into the database and empty it. Best effort (a reader may hold the log; the next
        // checkpoint then does it).
        _ = try? await withWriterConnection("checkpoint after a revocation") { transaction in
            try transaction.db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        return revoked
    }
}

extension BrokerTransaction {
    func revokeGrant(_ key: GrantKey, at time: Date) throws -> Int {
        try db.execute(
            sql: """
                UPDATE grants
                SET access_token = NULL, access_token_expires_at = NULL, refresh_token = NULL,
                    requested_scopes = '', granted_scopes = '', updated_at = ?
                WHERE resource = ? AND issuer = ?
                """,
            arguments: [time.storedSeconds, key.resource, key.issuer])
        return db.changesCount
    }
}
