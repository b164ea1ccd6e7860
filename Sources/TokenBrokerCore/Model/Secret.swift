/// A credential the broker must never print: an access or refresh token, an
/// authorization code, a PKCE verifier or a client secret.
///
/// Its `description`, `debugDescription` and reflection are redacted, so a `Secret`
/// that slips into string interpolation, a log line or a test failure message shows
/// `<redacted>` instead of its value. Read ``exposedValue`` only where the value
/// leaves for the party it belongs to (an HTTP request, the socket, the database).
public struct Secret: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret itself. The name is long on purpose: it stands out in review.
    public let exposedValue: String

    /// Wraps `value`.
    public init(_ value: String) {
        exposedValue = value
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "Secret(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
