#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A protocol type with a fixed JSON shape: params, results, error objects and messages.
///
/// Reading validates the shape and fails with a ``WireFormatError`` that names the
/// offending member; unknown members are ignored, so a newer peer can add fields.
/// `Codable` comes for free through ``JSONValue``, so these types also work with
/// `JSONEncoder` and `JSONDecoder`.
public protocol JSONValueConvertible: Codable, Sendable {
    /// Reads a value from its JSON form.
    ///
    /// - Parameter jsonValue: The JSON form.
    /// - Throws: ``WireFormatError`` naming the member that is missing, of the wrong
    ///   type or out of range.
    init(jsonValue: JSONValue) throws(WireFormatError)

    /// The JSON form.
    var jsonValue: JSONValue { get }
}

extension JSONValueConvertible {
    /// Decodes the JSON form and validates it like ``init(jsonValue:)``.
    ///
    /// - Parameter decoder: The decoder to read from.
    /// - Throws: `DecodingError.dataCorrupted` carrying the ``WireFormatError`` message.
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        do {
            try self.init(jsonValue: value)
        } catch {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: error.description)
            )
        }
    }

    /// Encodes ``jsonValue``.
    ///
    /// - Parameter encoder: The encoder to write to.
    /// - Throws: Whatever the encoder throws.
    public func encode(to encoder: any Encoder) throws {
        try jsonValue.encode(to: encoder)
    }
}

/// The params of a method or notification.
public protocol BrokerParams: JSONValueConvertible {}

extension BrokerParams {
    /// Reads the `params` of a request, failing with the `invalid_params` error the
    /// daemon sends back.
    ///
    /// Absent params read like `{}`, so a missing required member is reported by name.
    /// Positional (array) params are refused: every method takes named params.
    ///
    /// - Parameter params: The request's `params`, `nil` when absent.
    /// - Throws: ``RPCError`` with reason ``RPCErrorReason/invalidParams`` and a message
    ///   naming the member and what is wrong with it.
    public init(params: JSONValue?) throws(RPCError) {
        do {
            try self.init(jsonValue: params ?? .object([:]))
        } catch {
            throw .invalidParams(error)
        }
    }
}

/// Why a JSON value does not have the shape a protocol type expects.
///
/// It names the member by its path (`resource`, `scopes[1]`, `grants[0].updatedAt`) and
/// says what is wrong, never what the value was: the value may be a token.
public struct WireFormatError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path of the offending member; empty when the value itself is wrong.
    public var field: String
    /// What is wrong, as a predicate: "is required", "must be a string, got a number".
    public var problem: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - field: The path of the offending member, empty for the value itself.
    ///   - problem: What is wrong, phrased to follow the member name.
    public init(field: String, problem: String) {
        self.field = field
        self.problem = problem
    }

    /// A sentence such as "`minValidSeconds` must be 0 or more".
    public var description: String { sentence(subject: "the value") }

    /// The sentence, calling the value itself `subject` when the error is about it.
    func sentence(subject: String) -> String {
        field.isEmpty ? "\(subject) \(problem)" : "`\(field)` \(problem)"
    }

    /// The same error, seen from the value that holds this one under `path`.
    func nested(under path: String) -> WireFormatError {
        let joined: String
        if field.isEmpty {
            joined = path
        } else if field.hasPrefix("[") {
            joined = path + field
        } else {
            joined = path + "." + field
        }
        return WireFormatError(field: joined, problem: problem)
    }

    static func missing(_ field: String) -> WireFormatError {
        WireFormatError(field: field, problem: "is required")
    }

    static func wrongType(_ field: String, expected: String, got value: JSONValue) -> WireFormatError {
        WireFormatError(field: field, problem: "must be \(expected), got \(value.kindDescription)")
    }
}

/// Reads the members of a JSON object with messages that name each member.
///
/// A member that is `null` reads as absent: many JSON writers emit `null` for "not set".
struct JSONObjectReader {
    let members: [String: JSONValue]

    /// - Throws: When `value` is not an object; the error names the value itself.
    init(_ value: JSONValue) throws(WireFormatError) {
        guard case .object(let members) = value else {
            throw .wrongType("", expected: "an object", got: value)
        }
        self.members = members
    }

    /// The member, or `nil` when it is absent or `null`.
    func value(_ key: String) -> JSONValue? {
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws(WireFormatError) -> String {
        guard let string = try optionalString(key) else { throw .missing(key) }
        return string
    }

    func optionalString(_ key: String) throws(WireFormatError) -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value.stringValue else { throw .wrongType(key, expected: "a string", got: value) }
        return string
    }

    func bool(_ key: String) throws(WireFormatError) -> Bool {
        guard let bool = try optionalBool(key) else { throw .missing(key) }
        return bool
    }

    func optionalBool(_ key: String) throws(WireFormatError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let bool = value.boolValue else { throw .wrongType(key, expected: "true or false", got: value) }
        return bool
    }

    func integer(_ key: String, in range: ClosedRange<Int>? = nil) throws(WireFormatError) -> Int {
        guard let integer = try optionalInteger(key, in: range) else { throw .missing(key) }
        return integer
    }

    /// An integer; `30.0` and `3e1` count, `1.5` does not.
    func optionalInteger(_ key: String, in range: ClosedRange<Int>? = nil) throws(WireFormatError) -> Int? {
        guard let value = value(key) else { return nil }
        guard let integer = value.integerValue else {
            let got: String
            switch value {
            case .double(let double) where double.rounded(.towardZero) == double: got = "a number out of range"
            case .double: got = "a fractional number"
            default: got = value.kindDescription
            }
            throw WireFormatError(field: key, problem: "must be an integer, got \(got)")
        }
        if let range, !range.contains(integer) {
            throw WireFormatError(field: key, problem: Self.describe(range))
        }
        return integer
    }

    private static func describe(_ range: ClosedRange<Int>) -> String {
        if range.upperBound == Int.max { return "must be \(range.lowerBound) or more" }
        return "must be between \(range.lowerBound) and \(range.upperBound)"
    }

    func stringArray(_ key: String) throws(WireFormatError) -> [String] {
        guard let strings = try optionalStringArray(key) else { throw .missing(key) }
        return strings
    }

    func optionalStringArray(_ key: String) throws(WireFormatError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard let elements = value.arrayValue else {
            throw .wrongType(key, expected: "an array of strings", got: value)
        }
        var strings: [String] = []
        strings.reserveCapacity(elements.count)
        for (position, element) in elements.enumerated() {
            guard let string = element.stringValue else {
                throw .wrongType("\(key)[\(position)]", expected: "a string", got: element)
            }
            strings.append(string)
        }
        return strings
    }

    func timestamp(_ key: String) throws(WireFormatError) -> Date {
        guard let timestamp = try optionalTimestamp(key) else { throw .missing(key) }
        return timestamp
    }

    func optionalTimestamp(_ key: String) throws(WireFormatError) -> Date? {
        guard let value = value(key) else { return nil }
        guard let text = value.stringValue else {
            throw .wrongType(key, expected: "a timestamp string", got: value)
        }
        guard let timestamp = WireTimestamp.date(from: text) else {
            throw WireFormatError(field: key, problem: "must be a UTC timestamp such as 2026-11-22T12:00:00Z")
        }
        return timestamp
    }

    func decode<Value: JSONValueConvertible>(_ type: Value.Type, _ key: String) throws(WireFormatError) -> Value {
        guard let value = try optionalDecode(type, key) else { throw .missing(key) }
        return value
    }

    func optionalDecode<Value: JSONValueConvertible>(
        _ type: Value.Type,
        _ key: String
    ) throws(WireFormatError) -> Value? {
        guard let value = value(key) else { return nil }
        do {
            return try Value(jsonValue: value)
        } catch {
            throw error.nested(under: key)
        }
    }

    func array<Element: JSONValueConvertible>(of type: Element.Type, _ key: String) throws(WireFormatError) -> [Element] {
        guard let value = value(key) else { throw .missing(key) }
        guard let elements = value.arrayValue else {
            throw .wrongType(key, expected: "an array", got: value)
        }
        var decoded: [Element] = []
        decoded.reserveCapacity(elements.count)
        for (position, element) in elements.enumerated() {
            do {
                decoded.append(try Element(jsonValue: element))
            } catch {
                throw error.nested(under: "\(key)[\(position)]")
            }
        }
        return decoded
    }
}
