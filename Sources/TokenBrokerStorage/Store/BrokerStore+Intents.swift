public import Foundation
public import TokenBrokerCore

// What the broker means to do, one transaction per invariant (GRDB's advice): a reader
// never sees a resource without its authorization server, a revoked grant that still
// has its scopes, or dead tokens next to the registration they were refused for.
extension BrokerStore {
    /// Records what discovery found: the authorization server's metadata, then the
    /// resource that names it (the schema's foreign keys need that order).
    ///
    /// - Throws: ``StorageError``.
    public func recordDiscovery(server: StoredAuthorizationServer, resource: StoredResource) async throws(StorageError) {
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
    public func moveResource(
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
    /// tokens, and the client registration at `issuer` when the server no longer knows
    /// the client (`invalid_client`), so the next sign-in registers again.
    ///
    /// - Throws: ``StorageError``.
    public func forgetRefusedTokens(
        resource: ResourceURI, issuer: String, dropRegistration: Bool, at time: Date
    ) async throws(StorageError) {
        try await write("forget the refused tokens for \(resource)") { transaction in
            if dropRegistration { _ = try transaction.deleteClientRegistration(issuer: issuer) }
            _ = try transaction.deleteTokens(resource: resource, at: time)
        }
    }

    /// Ends a grant locally (revocation): its tokens and its scope history, so the next
    /// sign-in asks only for what is needed again. The row stays for `status`.
    ///
    /// - Returns: Whether a grant was stored.
    /// - Throws: ``StorageError``.
    @discardableResult
    public func revokeGrant(resource: ResourceURI, issuer: String, at time: Date) async throws(StorageError) -> Bool {
        try await write("revoke the grant for \(resource) at \(issuer)") { transaction in
            guard var grant = try transaction.grant(resource: resource, issuer: issuer) else { return false }
            grant.accessToken = nil
            grant.accessTokenExpiresAt = nil
            grant.refreshToken = nil
            grant.requestedScopes = []
            grant.grantedScopes = []
            grant.updatedAt = time
            try transaction.save(grant)
            return true
        }
    }
}
