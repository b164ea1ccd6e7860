import TokenBrokerProtocol

/// Parses JSON text written in a test.
func json(_ text: String) throws -> JSONValue {
    try JSONValue(parsing: Array(text.utf8))
}

/// The bytes of a string.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Obviously fake tokens: a test that leaks one into output is easy to spot.
enum FakeToken {
    static let access = "FAKE-ACCESS-TOKEN-do-not-use-0001"
    static let rejected = "FAKE-REJECTED-TOKEN-do-not-use-0002"
}

/// The line without its terminating newline, checking there is exactly one, at the end.
func lineBody(_ line: [UInt8]) -> [UInt8]? {
    guard line.last == UInt8(ascii: "\n"), line.filter({ $0 == UInt8(ascii: "\n") }).count == 1 else { return nil }
    return Array(line.dropLast())
}
