package import Foundation
package import TokenBrokerCore

/// A browser sign-in the broker started and has not seen finish.
///
/// Kept on disk so that a restarted daemon can still accept the redirect, and so
/// that `grants/list` can show the URL a person must open.
package struct StoredSignIn: Sendable, Equatable {
    /// The OAuth `state` value: the primary key, matched against the redirect.
    package var state: String
    /// The resource the sign-in is for.
    package var resource: ResourceURI
    /// The authorization server the sign-in happens at.
    package var issuer: String
    /// The PKCE `code_verifier` (RFC 7636: 43 to 128 characters; the schema enforces it).
    package var codeVerifier: Secret
    /// The redirect URI sent in the authorization request.
    package var redirectURI: String
    /// The scopes requested, in order.
    package var requestedScopes: ScopeSet
    /// The URL the person must open.
    package var authorizationURL: String
    /// When the sign-in started.
    package var startedAt: Date
    /// The client the sign-in was started as (`nil` for rows written before it was kept).
    package var clientID: String?

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - state: The OAuth `state` value.
    ///   - resource: The resource the sign-in is for.
    ///   - issuer: The authorization server's issuer identifier.
    ///   - codeVerifier: The PKCE code verifier.
    ///   - redirectURI: The redirect URI of the request.
    ///   - requestedScopes: The scopes requested.
    ///   - authorizationURL: The URL the person must open.
    ///   - startedAt: When the sign-in started.
    ///   - clientID: The client the sign-in was started as.
    package init(
        state: String,
        resource: ResourceURI,
        issuer: String,
        codeVerifier: Secret,
        redirectURI: String,
        requestedScopes: ScopeSet,
        authorizationURL: String,
        startedAt: Date,
        clientID: String? = nil
    ) {
        self.state = state
        self.resource = resource
        self.issuer = issuer
        self.codeVerifier = codeVerifier
        self.redirectURI = redirectURI
        self.requestedScopes = requestedScopes
        self.authorizationURL = authorizationURL
        self.startedAt = startedAt
        self.clientID = clientID
    }
}
