/// The canonical URI of an MCP server: the key of everything the broker stores and
/// the RFC 8707 `resource` parameter it sends.
///
/// Canonical per MCP: lowercase scheme and host, no fragment, no default port, no
/// trailing slash. The root path is written without a slash (`https://mcp.example.com`),
/// MCP's preferred form, so `https://host` and `https://host/` name one resource.
package struct ResourceURI: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The canonical components.
    package let url: HTTPURL
    /// The canonical string, kept: every cache hit writes it to the audit log.
    package let string: String

    /// Canonicalises and validates `text` under `policy`.
    package init(_ text: String, policy: TransportPolicy) throws(ResourceURIError) {
        let parsed: HTTPURL
        do {
            parsed = try HTTPURL(parsing: text)
        } catch {
            throw .invalidURL(error)
        }
        guard parsed.fragment == nil else { throw .hasFragment }
        do {
            try policy.check(parsed)
        } catch {
            throw .transport(error)
        }
        url = ResourceURI.canonicalize(parsed)
        string = url.string
    }

    /// The canonical form of an already parsed URL, whatever its scheme policy.
    init(canonical url: HTTPURL) {
        self.url = ResourceURI.canonicalize(url)
        string = self.url.string
    }

    /// Re-reads a canonical string the broker stored itself; only the syntax is checked.
    package init(storedCanonical text: String) throws(ResourceURIError) {
        try self.init(text, policy: .loopbackHTTPAllowed)
    }

    package var description: String { string }

    package static func < (lhs: ResourceURI, rhs: ResourceURI) -> Bool { lhs.string < rhs.string }

    // The canonical string names the URL: one string to hash and compare, not each component.
    package static func == (lhs: ResourceURI, rhs: ResourceURI) -> Bool { lhs.string == rhs.string }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(string)
    }

    /// Whether this resource may speak for `other`: the same resource, or the same
    /// origin with a path that is a whole-segment prefix of `other`'s (so
    /// `https://a/api` covers `https://a/api/files` but not `https://a/apiary`).
    package func covers(_ other: ResourceURI) -> Bool {
        guard url.origin == other.url.origin else { return false }
        if url.path == other.url.path { return url.query == nil || url.query == other.url.query }
        guard url.query == nil else { return false }
        return url.path.isEmpty || other.url.path.hasPrefix(url.path + "/")
    }

    static func canonicalize(_ url: HTTPURL) -> HTTPURL {
        var path = Substring(removingDotSegments(url.path))
        while path.last == "/" { path = path.dropLast() }
        return HTTPURL(
            scheme: url.scheme, host: url.host, port: url.port, path: String(path), query: url.query, fragment: nil)
    }
}

extension ResourceURI {
    /// RFC 3986 §5.2.4 on a path: `.` and `..` segments resolved, so `/api/../admin` is
    /// `/admin` and no longer looks covered by `/api`. A segment percent-encoded as a dot
    /// (`%2e`, RFC 3986 §6.2.2.2) counts as one: servers decode it before routing.
    static func removingDotSegments(_ path: String) -> String {
        guard !path.isEmpty else { return path }
        var output: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (index, segment) in segments.enumerated() {
            let isLast = index == segments.count - 1
            switch segment.lowercased().replacing("%2e", with: ".") {
            case ".":
                if isLast { output.append("") }
            case "..":
                if !output.isEmpty { output.removeLast() }
                if isLast { output.append("") }
            default:
                output.append(segment)
            }
        }
        return "/" + output.joined(separator: "/")
    }
}

/// Why a resource URL was refused; each maps to `invalid_params` on the wire.
package enum ResourceURIError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidURL(HTTPURLError)
    case hasFragment
    case transport(TransportPolicyViolation)

    package var description: String {
        switch self {
        case .invalidURL(let error): "the resource URL \(error)"
        case .hasFragment: "the resource URL has a fragment (#…), which a resource indicator must not have"
        case .transport(let violation): "the resource URL \(violation)"
        }
    }
}
