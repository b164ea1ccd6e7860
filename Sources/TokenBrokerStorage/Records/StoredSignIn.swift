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
    /// For a device sign-in (RFC 8628), its codes and polling; `nil` for a browser sign-in.
    package var device: StoredDeviceCode?

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
    ///   - device: A device sign-in's codes and polling.
    package init(
        state: String,
        resource: ResourceURI,
        issuer: String,
        codeVerifier: Secret,
        redirectURI: String,
        requestedScopes: ScopeSet,
        authorizationURL: String,
        startedAt: Date,
        clientID: String? = nil,
        device: StoredDeviceCode? = nil
    ) {
        self.device = device
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

/// What a device sign-in (RFC 8628) needs to go on polling after a restart.
package struct StoredDeviceCode: Sendable, Equatable {
    /// The `device_code` the token endpoint is polled with (sealed at rest).
    package var deviceCode: Secret
    /// The code the person types.
    package var userCode: String
    /// Where the person types it.
    package var verificationURI: String
    /// The same with the code filled in, when the server gave one.
    package var verificationURIComplete: String?
    /// When the codes expire.
    package var expiresAt: Date
    /// Seconds between polls, as `slow_down` left it.
    package var interval: Int

    /// Creates a record.
    package init(
        deviceCode: Secret, userCode: String, verificationURI: String, verificationURIComplete: String?, expiresAt: Date,
        interval: Int
    ) {
        self.deviceCode = deviceCode
        self.userCode = userCode
        self.verificationURI = verificationURI
        self.verificationURIComplete = verificationURIComplete
        self.expiresAt = expiresAt
        self.interval = interval
    }
}
