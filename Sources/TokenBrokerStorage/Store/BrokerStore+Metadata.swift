package import Foundation
package import TokenBrokerCore

// What discovery learns: authorization server metadata, client identities and
// protected resource metadata.
extension BrokerStore {
    // MARK: Authorization servers

    /// Stores (inserts or replaces) an authorization server's metadata.
    ///
    /// Replacing keeps the client registration and grants that refer to the issuer.
    ///
    /// - Parameter server: The metadata to store.
    /// - Throws: ``StorageError`` (``StorageError/Code/constraintViolation`` for an empty
    ///   issuer or metadata that is not JSON).
    package func saveAuthorizationServer(_ server: StoredAuthorizationServer) async throws(StorageError) {
        try await write("save the metadata of the authorization server \(server.issuer)") { try $0.save(server) }
    }

    /// The stored metadata of an authorization server.
    ///
    /// - Parameter issuer: The issuer identifier.
    /// - Returns: The record, or `nil` if none is stored.
    /// - Throws: ``StorageError``.
    package func authorizationServer(issuer: String) async throws(StorageError) -> StoredAuthorizationServer? {
        try await read("read the metadata of the authorization server \(issuer)") {
            try $0.authorizationServer(issuer: issuer)
        }
    }

    // MARK: Client registrations

    /// Stores (inserts or replaces) the client identity used for new sign-ins at an
    /// authorization server. A different client it replaces is retired: kept for the
    /// grants holding tokens issued to it (``clientRegistration(issuer:clientID:)``).
    ///
    /// - Parameter registration: The registration; its issuer's metadata must be stored.
    /// - Throws: ``StorageError`` (``StorageError/Code/missingReference`` when the
    ///   authorization server's metadata is not stored).
    package func saveClientRegistration(_ registration: StoredClientRegistration) async throws(StorageError) {
        try await write("save the client registration at \(registration.issuer)") { try $0.save(registration) }
    }

    /// The client identity used at an authorization server.
    ///
    /// - Parameter issuer: The issuer identifier.
    /// - Returns: The registration, or `nil` if none is stored.
    /// - Throws: ``StorageError``.
    package func clientRegistration(issuer: String) async throws(StorageError) -> StoredClientRegistration? {
        try await read("read the client registration at \(issuer)") { try $0.clientRegistration(issuer: issuer) }
    }

    /// The registration of one client at an authorization server, whether in use for
    /// new sign-ins or retired: what a grant's refresh and revocation authenticate with.
    ///
    /// - Parameters:
    ///   - issuer: The issuer identifier.
    ///   - clientID: The client the grant's tokens were issued to.
    /// - Returns: The registration, or `nil` if that client is not stored.
    /// - Throws: ``StorageError``.
    package func clientRegistration(issuer: String, clientID: String) async throws(StorageError) -> StoredClientRegistration? {
        try await read("read a client registration at \(issuer)") {
            try $0.clientRegistration(issuer: issuer, clientID: clientID)
        }
    }

    /// Stops using a client registered at an authorization server for new sign-ins (the
    /// server said it does not fit, in a redirect that could be forged). Grants holding
    /// tokens issued to it keep using it; it is forgotten once none does. Nothing happens
    /// when `clientID` is not the registration in use.
    ///
    /// - Parameters:
    ///   - issuer: The issuer identifier.
    ///   - clientID: The client to retire.
    ///   - time: When.
    /// - Throws: ``StorageError``.
    package func retireClientRegistration(issuer: String, clientID: String, at time: Date) async throws(StorageError) {
        try await write("retire the client registration at \(issuer)") {
            try $0.retireClientRegistration(issuer: issuer, clientID: clientID, at: time)
        }
    }

    /// Forgets one client at an authorization server, in use or retired: the server's
    /// token endpoint refused it as `invalid_client`.
    ///
    /// - Throws: ``StorageError``.
    package func deleteClientRegistration(issuer: String, clientID: String) async throws(StorageError) {
        try await write("delete a client registration at \(issuer)") {
            try $0.deleteClientRegistration(issuer: issuer, clientID: clientID)
        }
    }

    /// Forgets the client identity used at an authorization server (e.g. after the
    /// server rejected it as `invalid_client`).
    ///
    /// - Parameter issuer: The issuer identifier.
    /// - Returns: Whether a registration was deleted.
    /// - Throws: ``StorageError``.
    @discardableResult
    package func deleteClientRegistration(issuer: String) async throws(StorageError) -> Bool {
        try await write("delete the client registration at \(issuer)") {
            try $0.deleteClientRegistration(issuer: issuer)
        }
    }

    // MARK: Resources

    /// Stores (inserts or replaces) what the broker knows about a protected resource.
    ///
    /// Replacing keeps the resource's grants and pending authorizations.
    ///
    /// - Parameter resource: The record; a chosen issuer must have stored metadata.
    /// - Throws: ``StorageError`` (``StorageError/Code/missingReference`` when the chosen
    ///   authorization server's metadata is not stored).
    package func saveResource(_ resource: StoredResource) async throws(StorageError) {
        try await write("save the resource \(resource.resource)") { try $0.save(resource) }
    }

    /// What the broker knows about a protected resource.
    ///
    /// - Parameter resource: The canonical resource URI.
    /// - Returns: The record, or `nil` if none is stored.
    /// - Throws: ``StorageError``.
    package func resource(_ resource: ResourceURI) async throws(StorageError) -> StoredResource? {
        try await read("read the resource \(resource)") { try $0.resource(resource) }
    }

    /// Every stored resource, ordered by URI.
    ///
    /// - Returns: The records.
    /// - Throws: ``StorageError``.
    package func allResources() async throws(StorageError) -> [StoredResource] {
        try await read("list the resources") { try $0.allResources() }
    }

    /// Deletes everything stored for a resource: the resource itself, its grants
    /// (tokens and scope history) and its pending authorizations.
    ///
    /// The audit log keeps its lines; client registrations and authorization server
    /// metadata stay, as other resources may use them.
    ///
    /// - Parameter resource: The canonical resource URI.
    /// - Returns: Whether the resource was stored.
    /// - Throws: ``StorageError``.
    @discardableResult
    package func deleteResource(_ resource: ResourceURI) async throws(StorageError) -> Bool {
        try await write("delete the resource \(resource)") { try $0.deleteResource(resource) }
    }
}
