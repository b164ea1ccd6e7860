package import Foundation

/// The metadata of one authorization server (RFC 8414), as last fetched.
package struct StoredAuthorizationServer: Sendable, Equatable {
    /// The issuer identifier: the primary key.
    package var issuer: String
    /// The metadata document exactly as fetched, as JSON text; the store checks only that it is valid JSON.
    package var metadataJSON: String
    /// When the metadata was fetched (stored to the second, see ``BrokerStore``).
    package var fetchedAt: Date

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - issuer: The issuer identifier.
    ///   - metadataJSON: The metadata document as JSON text.
    ///   - fetchedAt: When it was fetched.
    package init(issuer: String, metadataJSON: String, fetchedAt: Date) {
        self.issuer = issuer
        self.metadataJSON = metadataJSON
        self.fetchedAt = fetchedAt
    }
}
