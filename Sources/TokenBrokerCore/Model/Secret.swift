/// A credential the broker must never print: an access or refresh token, an
/// authorization code, a PKCE verifier or a client secret.
///
/// Its `description`, `debugDescription` and reflection are redacted, so a `Secret`
/// that slips into string interpolation, a log line or a test failure message shows
/// `<redacted>` instead of its value. Read ``exposedValue`` only where the value
/// leaves for the party it belongs to (an HTTP request, the socket, the database).
package struct Secret: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret itself. The name is long on purpose: it stands out in review.
    package let exposedValue: String

    /// Wraps `value`.
    package init(_ value: String) {
        exposedValue = value
    }

    package var description: String { "<redacted>" }
    package var debugDescription: String { "Secret(<redacted>)" }
    package var customMirror: Mirror { Mirror(self, children: [:]) }
}
