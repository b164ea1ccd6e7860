/// An absolute `http` or `https` URL, parsed by the broker's own strict RFC 3986 reader.
///
/// Foundation's `URL` accepts and rewrites inputs in ways that differ between
/// platforms; the broker compares URLs as security decisions (PRM `resource`, issuers,
/// endpoints), so it parses them itself and keeps the path and query exactly as given.
/// Scheme and host are lowercased (they are case-insensitive); an explicit default port
/// is dropped.
package struct HTTPURL: Hashable, Sendable, CustomStringConvertible {
    /// `http` or `https`, lowercased.
    package let scheme: String
    /// The host, lowercased; an IPv6 literal keeps its brackets (`[::1]`).
    package let host: String
    /// The port when it is not the scheme's default, else `nil`.
    package let port: Int?
    /// The path exactly as given: empty or starting with `/`.
    package let path: String
    /// The query without its `?`, or `nil` when there is none.
    package let query: String?
    /// The fragment without its `#`, or `nil` when there is none.
    package let fragment: String?

    /// Parses `text`, which must be an absolute `http` or `https` URL.
    package init(parsing text: String) throws(HTTPURLError) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw .notAbsolute }
        guard bytes.count <= HTTPURL.maximumLength else { throw .tooLong }
        for byte in bytes where !HTTPURL.isURICharacter(byte) {
            throw .invalidCharacter
        }

        guard let schemeEnd = HTTPURL.firstIndex(of: Array("://".utf8), in: bytes) else {
            throw .notAbsolute
        }
        let scheme = String(decoding: bytes[..<schemeEnd], as: UTF8.self).lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw .unsupportedScheme(scheme.isEmpty ? "(none)" : String(scheme.prefix(16)))
        }

        var index = schemeEnd + 3
        let authorityStart = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "/"), bytes[index] != UInt8(ascii: "?"),
            bytes[index] != UInt8(ascii: "#")
        {
            index += 1
        }
        let authority = bytes[authorityStart..<index]
        let (host, port) = try HTTPURL.parseAuthority(authority, scheme: scheme)

        let pathStart = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "?"), bytes[index] != UInt8(ascii: "#") {
            index += 1
        }
        let path = String(decoding: bytes[pathStart..<index], as: UTF8.self)

        var query: String?
        if index < bytes.count, bytes[index] == UInt8(ascii: "?") {
            let queryStart = index + 1
            index = queryStart
            while index < bytes.count, bytes[index] != UInt8(ascii: "#") { index += 1 }
            query = String(decoding: bytes[queryStart..<index], as: UTF8.self)
        }

        var fragment: String?
        if index < bytes.count, bytes[index] == UInt8(ascii: "#") {
            fragment = String(decoding: bytes[(index + 1)...], as: UTF8.self)
        }

        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.query = query
        self.fragment = fragment
    }

    /// Creates a URL from parts that are already valid.
    init(scheme: String, host: String, port: Int?, path: String, query: String?, fragment: String?) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.query = query
        self.fragment = fragment
    }

    /// `scheme://host[:port]`.
    package var origin: String {
        if let port { return "\(scheme)://\(host):\(port)" }
        return "\(scheme)://\(host)"
    }

    /// The URL as text, with lowercased scheme and host and no default port.
    package var string: String {
        var text = origin + path
        if let query { text += "?" + query }
        if let fragment { text += "#" + fragment }
        return text
    }

    package var description: String { string }

    /// True for `localhost`, `127.0.0.0/8` and `[::1]`: the hosts plain `http` may use
    /// when the loopback opt-in is on.
    package var isLoopback: Bool {
        if host == "localhost" || host == "[::1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { octet in
            !octet.isEmpty && octet.count <= 3 && octet.allSatisfy(\.isASCIIDigitCharacter) && Int(octet)! <= 255
        }
    }

    /// The same URL without query and fragment, with `path` replaced.
    func replacingPath(_ newPath: String) -> HTTPURL {
        HTTPURL(scheme: scheme, host: host, port: port, path: newPath, query: nil, fragment: nil)
    }

    /// Longer than any URL a real server sends; bounds work on hostile metadata.
    package static let maximumLength = 8192

    private static func parseAuthority(_ authority: ArraySlice<UInt8>, scheme: String) throws(HTTPURLError) -> (
        String, Int?
    ) {
        guard !authority.isEmpty else { throw .missingHost }
        if authority.contains(UInt8(ascii: "@")) { throw .userInfoNotAllowed }

        var hostBytes: ArraySlice<UInt8>
        var portBytes: ArraySlice<UInt8>?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { throw .invalidHost }
            hostBytes = authority[authority.startIndex...close]
            let inner = authority[(authority.startIndex + 1)..<close]
            guard isIPv6Address(inner) else { throw .invalidHost }
            let rest = authority[(close + 1)...]
            if !rest.isEmpty {
                guard rest.first == UInt8(ascii: ":") else { throw .invalidHost }
                portBytes = rest.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: UInt8(ascii: ":")) {
            hostBytes = authority[..<colon]
            portBytes = authority[(colon + 1)...]
        } else {
            hostBytes = authority
        }
        guard !hostBytes.isEmpty else { throw .missingHost }
        if hostBytes.first != UInt8(ascii: "[") {
            guard hostBytes.allSatisfy(isRegisteredNameCharacter) else { throw .invalidHost }
        }

        var port: Int?
        if let portBytes, !portBytes.isEmpty {
            guard portBytes.count <= 5, portBytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw .invalidPort
            }
            let value = Int(String(decoding: portBytes, as: UTF8.self))!
            guard (1...65535).contains(value) else { throw .invalidPort }
            let defaultPort = scheme == "https" ? 443 : 80
            port = value == defaultPort ? nil : value
        }
        return (String(decoding: hostBytes, as: UTF8.self).lowercased(), port)
    }

    /// Printable ASCII that may appear in a URI (RFC 3986 §2), `%` included.
    private static func isURICharacter(_ byte: UInt8) -> Bool {
        guard byte > 0x20, byte < 0x7F else { return false }
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\\"),
            UInt8(ascii: "^"), UInt8(ascii: "`"), UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"):
            return false
        default:
            return true
        }
    }

    /// unreserved / pct-encoded / sub-delims (RFC 3986 §3.2.2 reg-name, IPv4 included).
    private static func isRegisteredNameCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"),
            UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
            UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        // The scheme is short; stop at the first character a scheme cannot contain.
        for start in 0...(haystack.count - needle.count) {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
            let byte = haystack[start]
            let isSchemeCharacter =
                (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            if !isSchemeCharacter { return nil }
        }
        return nil
    }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}

/// RFC 4291 §2.2 text form: eight groups of 1-4 hex digits, one `::` standing for one or
/// more zero groups, and optionally a dotted IPv4 address as the last 32 bits. No zone
/// identifier (RFC 6874): a zone names a local interface, not a server.
func isIPv6Address(_ bytes: ArraySlice<UInt8>) -> Bool {
    let characters = Array(bytes)
    var halves: [String] = []
    var start = 0
    var index = 0
    while index < characters.count {
        if index + 1 < characters.count, characters[index] == UInt8(ascii: ":"), characters[index + 1] == UInt8(ascii: ":") {
            halves.append(String(decoding: characters[start..<index], as: UTF8.self))
            index += 2
            start = index
        } else {
            index += 1
        }
    }
    halves.append(String(decoding: characters[start...], as: UTF8.self))
    guard halves.count <= 2 else { return false }
    func groups(_ part: String, mayEndInIPv4: Bool) -> Int? {
        guard !part.isEmpty else { return 0 }
        let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
        var count = 0
        for (index, piece) in pieces.enumerated() {
            if mayEndInIPv4, index == pieces.count - 1, piece.contains(".") {
                let octets = piece.split(separator: ".", omittingEmptySubsequences: false)
                guard octets.count == 4, octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCIIDigitCharacter) && Int($0)! <= 255 })
                else { return nil }
                count += 2
            } else {
                guard (1...4).contains(piece.count), piece.allSatisfy(\.isHexDigit) else { return nil }
                count += 1
            }
        }
        return count
    }
    if halves.count == 1 {
        return groups(halves[0], mayEndInIPv4: true) == 8
    }
    guard let head = groups(halves[0], mayEndInIPv4: false), let tail = groups(halves[1], mayEndInIPv4: true) else { return false }
    return head + tail <= 7
}

/// Why a string is not an acceptable absolute `http(s)` URL.
package enum HTTPURLError: Error, Equatable, Sendable, CustomStringConvertible {
    case notAbsolute
    case unsupportedScheme(String)
    case invalidCharacter
    case tooLong
    case missingHost
    case invalidHost
    case invalidPort
    case userInfoNotAllowed

    package var description: String {
        switch self {
        case .notAbsolute: "is not an absolute URL (it needs http:// or https://)"
        case .unsupportedScheme(let scheme): "uses the scheme \"\(scheme)\"; only http and https are supported"
        case .invalidCharacter: "contains a character that is not allowed in a URL (spaces, quotes, control or non-ASCII characters)"
        case .tooLong: "is longer than \(HTTPURL.maximumLength) characters"
        case .missingHost: "has no host"
        case .invalidHost: "has an invalid host"
        case .invalidPort: "has an invalid port"
        case .userInfoNotAllowed: "contains user information before the host (user@host), which is not allowed"
        }
    }
}
