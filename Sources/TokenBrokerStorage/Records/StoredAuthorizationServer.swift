public import Foundation

/// The metadata of one authorization server (RFC 8414), as last fetched.
public struct StoredAuthorizationServer: Sendable, Equatable {
    /// The issuer identifier: the primary key.
    public var issuer: String
    /// The metadata document exactly as fetched, as JSON text; the store checks only that it is valid JSON.
    public var metadataJSON: String
    /// When the metadata was fetched (stored to the second, see ``BrokerStore``).
    public var fetchedAt: Date

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - issuer: The issuer identifier.
    ///   - metadataJSON: The metadata document as JSON text.
    ///   - fetchedAt: When it was fetched.
    public init(issuer: String, metadataJSON: String, fetchedAt: Date) {
        self.issuer = issuer
        self.metadataJSON = metadataJSON
        self.fetchedAt = fetchedAt
    }
}
