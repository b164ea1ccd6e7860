package import Foundation
package import TokenBrokerCore

/// How the broker came to hold a client identity at an authorization server.
package enum ClientRegistrationSource: String, Sendable, Hashable, CaseIterable {
    /// Configured by the operator (`[[client]]` in the config file).
    case preregistered
    /// A Client ID Metadata Document URL used as `client_id`.
    case metadataDocument = "metadata_document"
    /// Obtained by dynamic client registration (RFC 7591).
    case dynamic
}

/// The client identity the broker uses at one authorization server.
///
/// Stored only after the authorization server's metadata
/// (``StoredAuthorizationServer``), which it refers to.
package struct StoredClientRegistration: Sendable, Equatable {
    /// The issuer this client is registered at: the primary key.
    package var issuer: String
    /// The `client_id`.
    package var clientID: String
    /// The `client_secret` of a confidential client, if any.
    package var clientSecret: Secret?
    /// `token_endpoint_auth_method`, e.g. `none` or `client_secret_basic`.
    package var tokenEndpointAuthMethod: String
    /// The redirect URI registered for this client.
    package var redirectURI: String
    /// Where the registration came from.
    package var source: ClientRegistrationSource
    /// The raw RFC 7591 registration response (JSON text), if any.
    ///
    /// A `Secret` because it holds the client secret and possibly a
    /// `registration_access_token`.
    package var registrationResponse: Secret?
    /// When the client secret expires; `nil` when it does not (RFC 7591's `0` maps to `nil`).
    package var clientSecretExpiresAt: Date?
    /// When the registration was stored.
    package var createdAt: Date

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - issuer: The issuer the client is registered at.
    ///   - clientID: The `client_id`.
    ///   - clientSecret: The `client_secret`, if any.
    ///   - tokenEndpointAuthMethod: The token endpoint authentication method.
    ///   - redirectURI: The registered redirect URI.
    ///   - source: Where the registration came from.
    ///   - registrationResponse: The raw registration response JSON, if any.
    ///   - clientSecretExpiresAt: When the client secret expires, if it does.
    ///   - createdAt: When the registration was made.
    package init(
        issuer: String,
        clientID: String,
        clientSecret: Secret? = nil,
        tokenEndpointAuthMethod: String,
        redirectURI: String,
        source: ClientRegistrationSource,
        registrationResponse: Secret? = nil,
        clientSecretExpiresAt: Date? = nil,
        createdAt: Date
    ) {
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.tokenEndpointAuthMethod = tokenEndpointAuthMethod
        self.redirectURI = redirectURI
        self.source = source
        self.registrationResponse = registrationResponse
        self.clientSecretExpiresAt = clientSecretExpiresAt
        self.createdAt = createdAt
    }
}
