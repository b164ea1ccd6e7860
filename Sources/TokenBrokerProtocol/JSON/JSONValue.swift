/// A JSON value as it travels on the wire.
///
/// Numbers written without a fraction or an exponent that fit in `Int` are kept as
/// ``integer(_:)``, so integer request ids and counts round-trip exactly; every other
/// number is a ``double(_:)``. Use ``integerValue`` to read an integer that a peer may
/// have written as `30.0` or `3e1`.
///
/// The `description` is compact JSON with the values of members named `accessToken`,
/// `rejectedToken` and `refreshToken` replaced by `"<redacted>"`, so printing a message
/// or a params value cannot leak a token; ``serialized()`` gives the real bytes.
public enum JSONValue: Sendable, Hashable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number without fraction or exponent that fits in `Int`.
    case integer(Int)
    /// Any other finite number.
    case double(Double)
    /// A string.
    case string(String)
    /// An array.
    case array([JSONValue])
    /// An object. Member order is not kept; the serializer writes members sorted by name.
    case object([String: JSONValue])
}

extension JSONValue {
    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    /// The Boolean, if this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    /// The number as an `Int`, if this is a number with an integral value that fits.
    ///
    /// Accepts `30`, `30.0` and `3e1` alike: JSON itself does not tell integers apart.
    public var integerValue: Int? {
        switch self {
        case .integer(let value):
            return value
        case .double(let value):
            // Int(exactly:) rejects fractions and values outside Int's range.
            return Int(exactly: value)
        default:
            return nil
        }
    }

    /// The number as a `Double`, if this is a number.
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    /// The elements, if this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { value } else { nil }
    }

    /// The members, if this is an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { value } else { nil }
    }

    /// Whether this is `null`.
    public var isNull: Bool { self == .null }

    /// The member named `key`, if this is an object that has it.
    ///
    /// - Parameter key: The member name.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// What kind of JSON value this is, phrased for error messages ("a string", "an array").
    var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue {
    /// Parses one JSON text.
    ///
    /// The input must be UTF-8 without a byte-order mark, hold exactly one value
    /// (surrounding whitespace allowed) and nest at most ``maximumNestingDepth`` levels.
    /// When an object repeats a member name, the last one wins, as in JavaScript.
    ///
    /// - Parameter bytes: The JSON text.
    /// - Throws: ``JSONSyntaxError`` when the bytes are not such a text.
    public init(parsing bytes: some Collection<UInt8>) throws(JSONSyntaxError) {
        var parser = JSONParser(bytes: Array(bytes))
        self = try parser.parseDocument()
    }

    /// How deeply arrays and objects may nest in parsed input.
    ///
    /// Protocol messages nest five levels at most; the bound keeps a hostile line of
    /// brackets from exhausting the parser's stack.
    public static let maximumNestingDepth = 128

    /// The compact JSON text of this value, UTF-8, with no raw newline.
    ///
    /// Object members are written sorted by name so the output is deterministic.
    /// A non-finite ``double(_:)`` (which JSON cannot express) is written as `null`.
    public func serialized() -> [UInt8] {
        var output: [UInt8] = []
        JSONSerializer.write(self, into: &output, redacting: false)
        return output
    }

    /// ``serialized()`` as a `String`.
    public var serializedString: String {
        String(decoding: serialized(), as: UTF8.self)
    }
}

extension JSONValue: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Compact JSON with token-bearing members redacted.
    public var description: String {
        var output: [UInt8] = []
        JSONSerializer.write(self, into: &output, redacting: true)
        return String(decoding: output, as: UTF8.self)
    }

    /// Same as ``description``.
    public var debugDescription: String { description }

    /// No children, so `dump` prints the redacted ``description`` instead of walking
    /// into the members.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

extension JSONValue: Codable {
    /// Decodes any JSON value.
    ///
    /// - Parameter decoder: The decoder to read from.
    /// - Throws: `DecodingError` when the value is not JSON-shaped.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Encodes the value as the JSON it stands for.
    ///
    /// - Parameter encoder: The encoder to write to.
    /// - Throws: Whatever the encoder throws (for example for a non-finite double).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A Boolean.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer.
    public init(integerLiteral value: Int) { self = .integer(value) }
    /// A double.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// A string.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// An object; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

/// Why some bytes are not a JSON text.
///
/// The message names the problem and its byte offset, never the input itself, which
/// may hold a token.
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The offset of the first byte that could not be accepted.
    public var byteOffset: Int
    /// What was wrong there, for example "unexpected end of input".
    public var problem: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - byteOffset: Where parsing stopped.
    ///   - problem: What was wrong there.
    public init(byteOffset: Int, problem: String) {
        self.byteOffset = byteOffset
        self.problem = problem
    }

    /// "problem at byte N".
    public var description: String { "\(problem) at byte \(byteOffset)" }
}

extension JSONValue: JSONValueConvertible {
    /// A JSON value is its own wire form (for callers that want the raw result).
    public init(jsonValue: JSONValue) throws(WireFormatError) { self = jsonValue }

    /// Itself.
    public var jsonValue: JSONValue { self }
}
