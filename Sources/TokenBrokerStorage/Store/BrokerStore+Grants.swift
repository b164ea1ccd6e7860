package import Foundation
package import TokenBrokerCore

// Grants: the tokens and scope history per (resource, issuer).
extension BrokerStore {
    /// The grant for a resource at an authorization server.
    ///
    /// - Parameters:
    ///   - resource: The canonical resource URI.
    ///   - issuer: The issuer identifier.
    /// - Returns: The grant, or `nil` if none is stored.
    /// - Throws: ``StorageError``.
    package func grant(resource: ResourceURI, issuer: String) async throws(StorageError) -> Grant? {
        try await read("read the grant for \(resource) at \(issuer)") {
            try $0.grant(resource: resource, issuer: issuer)
        }
    }

    /// Every stored grant, ordered by resource then issuer, tokens included.
    ///
    /// - Returns: The grants.
    /// - Throws: ``StorageError``.
    package func allGrants() async throws(StorageError) -> [Grant] {
        try await read("list the grants") { try $0.allGrants() }
    }

    /// Stores (inserts or replaces) a grant exactly as given, all fields included.
    ///
    /// Use it after an authorization code exchange and to record requested scopes;
    /// to refresh, prefer ``replaceTokens(resource:issuer:expectedRefreshToken:with:)``,
    /// which cannot overwrite a rotation made in the meantime.
    ///
    /// - Parameter grant: The grant; its resource and issuer must be stored.
    /// - Throws: ``StorageError`` (``StorageError/Code/missingReference`` when the
    ///   resource or the authorization server is not stored).
    package func saveGrant(_ grant: Grant) async throws(StorageError) {
        try await write("save the grant for \(grant.resource) at \(grant.issuer)") { try $0.save(grant) }
    }

    /// Replaces the tokens of a grant, but only if its refresh token is still
    /// `expectedRefreshToken` (compare-and-swap, in one `IMMEDIATE` transaction).
    ///
    /// Two refreshes racing with the same refresh token cannot both win: the loser
    /// gets `false` and should read the grant again rather than use its own tokens
    /// (with rotating refresh tokens, the server has already invalidated them).
    /// The write is durable (`synchronous=FULL`) when this returns, so the new access
    /// token may be handed out.
    ///
    /// - Parameters:
    ///   - resource: The canonical resource URI.
    ///   - issuer: The issuer identifier.
    ///   - expectedRefreshToken: The refresh token the refresh was made with; `nil`
    ///     expects that the grant has none.
    ///   - rotation: The new tokens, granted scopes and time.
    /// - Returns: `true` if the grant was updated, `false` if it is missing or its
    ///   refresh token changed.
    /// - Throws: ``StorageError``.
    @discardableResult
    package func replaceTokens(
        resource: ResourceURI,
        issuer: String,
        expectedRefreshToken: Secret?,
        with rotation: TokenRotation
    ) async throws(StorageError) -> Bool {
        try await write("replace the tokens of the grant for \(resource) at \(issuer)") {
            try $0.replaceTokens(
                resource: resource, issuer: issuer, expectedRefreshToken: expectedRefreshToken, with: rotation)
        }
    }

    /// Deletes the access and refresh tokens of every grant of a resource (local revocation).
    ///
    /// The grant rows stay, with their requested and granted scopes, so that status
    /// still shows the history and a new sign-in asks for the same scopes again;
    /// `updatedAt` becomes `time`. To forget a resource completely, use
    /// ``deleteResource(_:)``.
    ///
    /// - Parameters:
    ///   - resource: The canonical resource URI.
    ///   - time: The revocation time, stored as the grants' `updatedAt`.
    /// - Returns: How many grants were changed.
    /// - Throws: ``StorageError``.
    @discardableResult
    package func deleteTokens(resource: ResourceURI, at time: Date) async throws(StorageError) -> Int {
        try await write("delete the tokens for \(resource)") { try $0.deleteTokens(resource: resource, at: time) }
    }

    /// Deletes the access and refresh tokens of every grant (revoke `--all`), keeping
    /// the scope history as ``deleteTokens(resource:at:)`` does.
    ///
    /// - Parameter time: The revocation time, stored as the grants' `updatedAt`.
    /// - Returns: How many grants were changed.
    /// - Throws: ``StorageError``.
    @discardableResult
    package func deleteAllTokens(at time: Date) async throws(StorageError) -> Int {
        try await write("delete all tokens") { try $0.deleteTokens(resource: nil, at: time) }
    }
}

extension BrokerStore {
    /// A page of grant overviews in (resource, issuer) order, after `cursor`: one query
    /// with the client id joined, and no token read into memory.
    ///
    /// - Parameters:
    ///   - cursor: The key of the last grant of the previous page, or `nil` for the first.
    ///   - limit: The most grants returned.
    ///   - filter: Which grants qualify.
    /// - Throws: ``StorageError``.
    package func grantOverviews(
        after cursor: GrantKey?, limit: Int, filter: GrantFilter = GrantFilter()
    ) async throws(StorageError) -> [GrantOverview] {
        try await read("list the grants") { try $0.grantOverviews(after: cursor, limit: limit, filter: filter) }
    }
}
