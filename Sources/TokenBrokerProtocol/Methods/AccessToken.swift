/// An access token on the wire (`accessToken`, `rejectedToken`), kept out of every
/// printout.
///
/// `description`, `debugDescription` and reflection (`dump`, the default description of
/// a struct that holds one) show `<redacted>`. Read ``exposedValue`` only where the token
/// leaves for its destination: an `Authorization` header, the socket, the database.
public struct AccessToken: Sendable, Hashable, Codable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The token itself. The name is long on purpose: it stands out in review.
    public let exposedValue: String

    /// Wraps a token.
    ///
    /// - Parameter exposedValue: The token string.
    public init(_ exposedValue: String) {
        self.exposedValue = exposedValue
    }

    /// `<redacted>`.
    public var description: String { "<redacted>" }
    /// `AccessToken(<redacted>)`.
    public var debugDescription: String { "AccessToken(<redacted>)" }
    /// No children, so reflection cannot reach the value.
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// Decodes the token from a plain JSON string.
    ///
    /// - Parameter decoder: The decoder to read from.
    /// - Throws: `DecodingError` when the value is not a string.
    public init(from decoder: any Decoder) throws {
        exposedValue = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes the token as a plain JSON string.
    ///
    /// - Parameter encoder: The encoder to write to.
    /// - Throws: Whatever the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(exposedValue)
    }
}
