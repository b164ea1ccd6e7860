package import Foundation
package import TokenBrokerCore

/// What the broker knows about one protected resource (an MCP server).
///
/// Deleting it (``BrokerStore/deleteResource(_:)``) deletes its grants and pending
/// authorizations too.
package struct StoredResource: Sendable, Equatable {
    /// The canonical resource URI: the primary key.
    package var resource: ResourceURI
    /// The protected resource metadata (RFC 9728) as fetched, as JSON text.
    package var metadataJSON: String
    /// The authorization server the broker chose for this resource, once chosen.
    ///
    /// Must name a stored ``StoredAuthorizationServer``; it becomes `nil` if that
    /// server's metadata is ever deleted.
    package var issuer: String?
    /// When the metadata was fetched.
    package var fetchedAt: Date

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - resource: The canonical resource URI.
    ///   - metadataJSON: The protected resource metadata as JSON text.
    ///   - issuer: The chosen authorization server, if chosen yet.
    ///   - fetchedAt: When the metadata was fetched.
    package init(resource: ResourceURI, metadataJSON: String, issuer: String? = nil, fetchedAt: Date) {
        self.resource = resource
        self.metadataJSON = metadataJSON
        self.issuer = issuer
        self.fetchedAt = fetchedAt
    }
}
