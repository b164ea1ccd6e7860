/// Reads `WWW-Authenticate` values (RFC 9110 §11.6.1).
///
/// Accepts several challenges in one value and across several header lines, scheme
/// and parameter names in any case, quoted strings with backslash escapes, `token68`,
/// and commas without the space after them (django-oauth-toolkit sends that). Unquoted
/// parameter values are read leniently (up to the next comma or space), because some
/// servers send `resource_metadata=https://…` without quotes.
///
/// The value comes from a server and may be hostile: the reader runs in one linear pass
/// over at most ``maximumLength`` bytes and reports anything malformed as a
/// ``ChallengeParseError`` instead of guessing.
package enum WWWAuthenticate {
    /// No real challenge comes near this; anything longer is refused unread.
    package static let maximumLength = 64 * 1024

    /// Parses one field value, or several header lines already joined with `", "`.
    package static func parse(_ value: String) throws(ChallengeParseError) -> [AuthenticationChallenge] {
        var reader = ChallengeReader(bytes: Array(value.utf8))
        return try reader.readChallenges()
    }

    /// Parses the values of several `WWW-Authenticate` header lines as one list.
    package static func parse(fields: [String]) throws(ChallengeParseError) -> [AuthenticationChallenge] {
        try parse(fields.joined(separator: ", "))
    }

    /// The first `Bearer` challenge in `value`, or `nil` when there is none.
    ///
    /// An empty `scope=""` counts as no scope information.
    package static func bearerChallenge(in value: String) throws(ChallengeParseError) -> BearerChallenge? {
        guard let challenge = try parse(value).first(where: { $0.scheme == "bearer" }) else { return nil }
        var scope: ScopeSet?
        if let scopeText = challenge.parameter("scope") {
            do {
                let parsed = try ScopeSet(parsing: scopeText)
                scope = parsed.isEmpty ? nil : parsed
            } catch {
                throw ChallengeParseError(.invalidScope, at: 0)
            }
        }
        return BearerChallenge(
            error: challenge.parameter("error"),
            errorDescription: challenge.parameter("error_description"),
            scope: scope,
            resourceMetadata: challenge.parameter("resource_metadata")
        )
    }
}

/// A single forward pass over the bytes of a header value.
private struct ChallengeReader {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func readChallenges() throws(ChallengeParseError) -> [AuthenticationChallenge] {
        guard bytes.count <= WWWAuthenticate.maximumLength else {
            throw ChallengeParseError(.tooLong, at: WWWAuthenticate.maximumLength)
        }
        var challenges: [AuthenticationChallenge] = []
        var current: AuthenticationChallenge?

        while true {
            skipWhitespaceAndCommas()
            guard index < bytes.count else { break }

            let nameStart = index
            let name = readToken()
            guard !name.isEmpty else { throw error(at: nameStart) }

            // `name =` continues the current challenge (a scheme is never followed by
            // `=`); anything else starts a new one.
            if current != nil, let valueStart = positionAfterEquals() {
                index = valueStart
                try addParameter(named: name, value: try readValue(), to: &current!, at: nameStart)
                continue
            }

            if let finished = current { challenges.append(finished) }
            current = AuthenticationChallenge(scheme: name.lowercased())
            try readFirstItem(of: &current!)
        }
        if let finished = current { challenges.append(finished) }
        return challenges
    }

    /// After the scheme: nothing, a `token68`, or the first parameter.
    private mutating func readFirstItem(of challenge: inout AuthenticationChallenge) throws(ChallengeParseError) {
        let spaceStart = index
        skipSpaces()
        guard index < bytes.count, bytes[index] != UInt8(ascii: ",") else { return }
        // RFC 9110 requires at least one space between the scheme and what follows.
        guard index > spaceStart else { throw error(at: index) }

        let itemStart = index
        let name = readToken()
        if !name.isEmpty, let valueStart = positionAfterEquals(), !isToken68Padding(from: valueStart) {
            index = valueStart
            try addParameter(named: name, value: try readValue(), to: &challenge, at: itemStart)
            return
        }

        index = itemStart
        while index < bytes.count, isToken68Character(bytes[index]) { index += 1 }
        while index < bytes.count, bytes[index] == UInt8(ascii: "=") { index += 1 }
        guard index > itemStart else { throw error(at: itemStart) }
        let token68 = String(decoding: bytes[itemStart..<index], as: UTF8.self)
        skipSpaces()
        guard index == bytes.count || bytes[index] == UInt8(ascii: ",") else { throw error(at: index) }
        challenge.token68 = token68
    }

    private mutating func addParameter(
        named name: String, value: String, to challenge: inout AuthenticationChallenge, at offset: Int
    ) throws(ChallengeParseError) {
        let lowered = name.lowercased()
        // A repeated parameter is ambiguous (which resource_metadata wins?), so refuse it.
        guard challenge.parameter(lowered) == nil else {
            throw ChallengeParseError(.duplicateParameter(lowered), at: offset)
        }
        challenge.parameters.append((name: lowered, value: value))
    }

    /// When optional spaces, `=`, optional spaces follow, the index after them.
    private func positionAfterEquals() -> Int? {
        var position = index
        while position < bytes.count, isSpace(bytes[position]) { position += 1 }
        guard position < bytes.count, bytes[position] == UInt8(ascii: "=") else { return nil }
        position += 1
        while position < bytes.count, isSpace(bytes[position]) { position += 1 }
        return position
    }

    /// `abc=` or `abc==` at the end of an item is token68 padding, not a parameter.
    private func isToken68Padding(from position: Int) -> Bool {
        var position = position
        while position < bytes.count, bytes[position] == UInt8(ascii: "=") { position += 1 }
        while position < bytes.count, isSpace(bytes[position]) { position += 1 }
        return position == bytes.count || bytes[position] == UInt8(ascii: ",")
    }

    private mutating func readValue() throws(ChallengeParseError) -> String {
        guard index < bytes.count else { throw ChallengeParseError(.expectedParameterValue, at: index) }
        if bytes[index] == UInt8(ascii: "\"") { return try readQuotedString() }

        let start = index
        while index < bytes.count, isLenientValueCharacter(bytes[index]) { index += 1 }
        guard index > start else {
            if bytes[index] == UInt8(ascii: ",") || isSpace(bytes[index]) {
                throw ChallengeParseError(.expectedParameterValue, at: index)
            }
            throw error(at: index)
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// `quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE`
    private mutating func readQuotedString() throws(ChallengeParseError) -> String {
        let open = index
        index += 1
        var value: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: value, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count else { throw ChallengeParseError(.unterminatedQuotedString, at: open) }
                let escaped = bytes[index + 1]
                guard isQuotedPairCharacter(escaped) else { throw error(at: index + 1) }
                value.append(escaped)
                index += 2
            default:
                guard isQuotedTextCharacter(byte) else { throw error(at: index) }
                value.append(byte)
                index += 1
            }
        }
        throw ChallengeParseError(.unterminatedQuotedString, at: open)
    }

    private mutating func readToken() -> String {
        let start = index
        while index < bytes.count, isTokenCharacter(bytes[index]) { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func skipSpaces() {
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
    }

    private mutating func skipWhitespaceAndCommas() {
        while index < bytes.count, isSpace(bytes[index]) || bytes[index] == UInt8(ascii: ",") { index += 1 }
    }

    private func error(at offset: Int) -> ChallengeParseError {
        guard offset < bytes.count else { return ChallengeParseError(.expectedParameterValue, at: offset) }
        let byte = bytes[offset]
        if byte < 0x20 || byte == 0x7F { return ChallengeParseError(.invalidCharacter, at: offset) }
        return ChallengeParseError(.expectedScheme, at: offset)
    }

    private func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    /// `tchar` of RFC 9110 §5.6.2.
    private func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    private func isToken68Character(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    /// Visible ASCII except `,` and `"`: a value ends at a comma or a space.
    private func isLenientValueCharacter(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: ",") && byte != UInt8(ascii: "\"")
    }

    private func isQuotedTextCharacter(_ byte: UInt8) -> Bool {
        byte == 0x09 || byte == 0x20 || byte == 0x21 || (0x23...0x5B).contains(byte) || (0x5D...0x7E).contains(byte)
            || byte >= 0x80
    }

    private func isQuotedPairCharacter(_ byte: UInt8) -> Bool {
        byte == 0x09 || (0x20...0x7E).contains(byte) || byte >= 0x80
    }
}
