import Foundation
import Testing
import TokenBrokerProtocol

@Suite("JSONValue parsing and serialization")
struct JSONValueTests {
    @Test(
        "parses every kind of value",
        arguments: [
            ("null", JSONValue.null),
            ("true", .bool(true)),
            ("false", .bool(false)),
            ("0", .integer(0)),
            ("-0", .integer(0)),
            ("42", .integer(42)),
            ("-17", .integer(-17)),
            ("9223372036854775807", .integer(Int.max)),
            ("-9223372036854775808", .integer(Int.min)),
            ("9223372036854775808", .double(9_223_372_036_854_775_808)),
            ("1.5", .double(1.5)),
            ("30.0", .double(30)),
            ("1e3", .double(1000)),
            ("-2.5E-3", .double(-0.0025)),
            (#""""#, .string("")),
            (#""caf\u00e9 \ud83d\ude00 \n\t\"\\\/""#, .string("café 😀 \n\t\"\\/")),
            (#""naïve""#, .string("naïve")),
            ("[]", .array([])),
            ("[1, \"a\", null]", .array([.integer(1), .string("a"), .null])),
            ("{}", .object([:])),
            (#" { "a" : { "b" : [ true ] } } "#, .object(["a": .object(["b": .array([.bool(true)])])])),
        ]
    )
    func parsesValues(text: String, expected: JSONValue) throws {
        #expect(try JSONValue(parsing: bytes(text)) == expected)
    }

    @Test(
        "refuses what is not one JSON text",
        arguments: [
            "", "   ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "'a'", "tru", "nul", "01", "1.",
            ".5", "-", "1e", "+1", "NaN", "Infinity", "1e400", "\"unterminated", "\"bad \\x escape\"",
            "\"\\u12\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"", "{\"a\":1} {\"b\":2}", "[1] x",
            "\u{FEFF}{}", "\"tab\there\"",
        ]
    )
    func refusesInvalidText(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: bytes(text)) }
    }

    @Test("refuses a raw control character inside a string")
    func refusesRawNewlineInString() {
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: bytes("\"a\nb\"")) }
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: [0x22, 0x01, 0x22]) }
    }

    @Test(
        "refuses invalid UTF-8",
        arguments: [
            [0x22, 0xFF, 0x22],  // never valid
            [0x22, 0xC3, 0x22],  // truncated two-byte sequence
            [0x22, 0xC0, 0xAF, 0x22],  // overlong "/"
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // encoded surrogate
        ] as [[UInt8]]
    )
    func refusesInvalidUTF8(input: [UInt8]) {
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: input) }
    }

    @Test("reports the byte offset and never the input")
    func syntaxErrorNamesOffset() {
        let input = bytes(#"{"rejectedToken": "\#(FakeToken.rejected)" oops}"#)
        #expect {
            try JSONValue(parsing: input)
        } throws: { error in
            guard let error = error as? JSONSyntaxError else { return false }
            return error.byteOffset == input.count - 5 && !error.description.contains(FakeToken.rejected)
        }
    }

    @Test("truncated input says so", arguments: ["{", #"{"a""#, #"{"a":"#, #"{"a":1,"#, "[1,", #""abc"#, "tr", "-"])
    func truncated(text: String) {
        #expect(throws: JSONSyntaxError(byteOffset: text.utf8.count, problem: "unexpected end of input")) {
            try JSONValue(parsing: bytes(text))
        }
    }

    @Test("a repeated member name keeps the last value")
    func duplicateMembers() throws {
        #expect(try json(#"{"a": 1, "a": 2}"#) == ["a": 2])
    }

    @Test("nesting deeper than the limit is refused, up to it is accepted")
    func nestingLimit() throws {
        let depth = JSONValue.maximumNestingDepth
        let deepest = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(throws: Never.self) { try JSONValue(parsing: bytes(deepest)) }
        let tooDeep = "[" + deepest + "]"
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: bytes(tooDeep)) }
        let hostile = String(repeating: "{\"a\":", count: 100_000)
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: bytes(hostile)) }
    }

    @Test(
        "serialization round-trips",
        arguments: [
            JSONValue.null, true, 0, -1, .integer(Int.max), .integer(Int.min), 0.1, -2.5, 1e300, .double(.leastNonzeroMagnitude),
            "", "line one\nline two\r\n", "quote \" backslash \\ slash /", "\u{0}\u{1}\u{1F}\u{7F}", "é😀\u{2028}",
            [1, "two", [3.5, nil]], ["nested": ["deeper": ["deepest": "yes"]], "empty": [:], "list": []],
        ]
    )
    func serializationRoundTrips(value: JSONValue) throws {
        let serialized = value.serialized()
        #expect(!serialized.contains(UInt8(ascii: "\n")))
        #expect(!serialized.contains(UInt8(ascii: "\r")))
        #expect(try JSONValue(parsing: serialized) == value)
        // An independent parser agrees the output is JSON.
        let foundation = try JSONSerialization.jsonObject(with: Data(serialized), options: [.fragmentsAllowed])
        _ = foundation
    }

    @Test("escapes control characters and keeps other text as UTF-8")
    func serializesStrings() {
        let value: JSONValue = .string("a\nb\tc\u{1}é\"\\")
        #expect(value.serializedString == #""a\nb\tc\u0001é\"\\""#)
    }

    @Test("writes object members sorted by name")
    func sortedMembers() {
        let value: JSONValue = ["b": 1, "a": 2, "c": ["z": true, "y": false]]
        #expect(value.serializedString == #"{"a":2,"b":1,"c":{"y":false,"z":true}}"#)
    }

    @Test("writes non-finite doubles as null")
    func nonFiniteDoubles() {
        #expect(JSONValue.double(.infinity).serializedString == "null")
        #expect(JSONValue.double(.nan).serializedString == "null")
    }

    @Test(
        "reads integers however they are written",
        arguments: [
            (JSONValue.integer(30), Optional(30)), (.double(30), 30), (.double(1.5), nil), (.double(1e300), nil),
            (.string("30"), nil), (.bool(true), nil),
        ]
    )
    func integerValue(value: JSONValue, expected: Int?) {
        #expect(value.integerValue == expected)
    }

    @Test("Codable bridges to and from Foundation's coders")
    func codable() throws {
        let value: JSONValue = ["id": 7, "ratio": 0.5, "name": "x", "flags": [true, nil]]
        let data = try JSONEncoder().encode(value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == value)
    }
}
