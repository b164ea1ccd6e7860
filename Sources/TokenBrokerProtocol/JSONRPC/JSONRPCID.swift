/// The `id` of a JSON-RPC request: an integer or a string, echoed in its response.
///
/// `null` and fractional ids are refused (JSON-RPC 2.0 discourages both); an integral
/// number written as `7.0` is read as the integer `7`.
public enum JSONRPCID: Sendable, Hashable, CustomStringConvertible {
    /// An integer id, the common case.
    case integer(Int)
    /// A string id.
    case string(String)

    /// Reads an id, or returns `nil` when `jsonValue` is not an integer or a string.
    ///
    /// - Parameter jsonValue: The value of the `id` member.
    public init?(jsonValue: JSONValue) {
        if let string = jsonValue.stringValue {
            self = .string(string)
        } else if let integer = jsonValue.integerValue {
            self = .integer(integer)
        } else {
            return nil
        }
    }

    /// The JSON form.
    public var jsonValue: JSONValue {
        switch self {
        case .integer(let integer): .integer(integer)
        case .string(let string): .string(string)
        }
    }

    /// The id as JSON: `7` or `"abc"`.
    public var description: String { jsonValue.serializedString }
}

extension JSONRPCID: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    /// An integer id.
    public init(integerLiteral value: Int) { self = .integer(value) }
    /// A string id.
    public init(stringLiteral value: String) { self = .string(value) }
}

extension JSONRPCID: Codable {
    /// Decodes an integer or a string.
    ///
    /// - Parameter decoder: The decoder to read from.
    /// - Throws: `DecodingError.dataCorrupted` for any other value.
    public init(from decoder: any Decoder) throws {
        guard let id = JSONRPCID(jsonValue: try JSONValue(from: decoder)) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "id must be an integer or a string")
            )
        }
        self = id
    }

    /// Encodes the integer or the string.
    ///
    /// - Parameter encoder: The encoder to write to.
    /// - Throws: Whatever the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        try jsonValue.encode(to: encoder)
    }
}
