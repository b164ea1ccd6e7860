/// Which URLs the broker may talk to.
///
/// Every OAuth endpoint must be `https`. Plain `http` is accepted only for loopback
/// hosts and only when the operator turned on `--allow-http-loopback` (local
/// development and tests).
package struct TransportPolicy: Hashable, Sendable {
    /// Whether `http://` is accepted for loopback hosts.
    package var allowsHTTPLoopback: Bool
    /// Hosts (lowercase names or address literals) that metadata may point to however
    /// private their addresses, e.g. a company's authorization server on its intranet for
    /// a public MCP server: the operator's deliberate exceptions to the SSRF rule
    /// (``AddressClass/isReachable(fromResourceOf:)``). A forbidden address stays forbidden.
    package var privateHostExceptions: Set<String>

    /// Creates a policy.
    package init(allowsHTTPLoopback: Bool, privateHostExceptions: Set<String> = []) {
        self.allowsHTTPLoopback = allowsHTTPLoopback
        self.privateHostExceptions = Set(privateHostExceptions.map { $0.lowercased() })
    }

    /// Whether a URL learned from metadata, at `host` with addresses of class `target`,
    /// may be contacted for a resource whose addresses are of class `resource`.
    package func allowsMetadataTarget(host: String, _ target: AddressClass, forResourceOf resource: AddressClass) -> Bool {
        guard target != .forbidden else { return false }
        return privateHostExceptions.contains(host.lowercased()) || target.isReachable(fromResourceOf: resource)
    }

    /// https only.
    package static let strict = TransportPolicy(allowsHTTPLoopback: false)
    /// https, and http on loopback.
    package static let loopbackHTTPAllowed = TransportPolicy(allowsHTTPLoopback: true)

    /// Throws unless `url` may be contacted under this policy.
    package func check(_ url: HTTPURL) throws(TransportPolicyViolation) {
        if url.scheme == "https" { return }
        guard url.isLoopback else { throw .plainHTTPOffLoopback(host: url.host) }
        guard allowsHTTPLoopback else { throw .plainHTTPLoopbackNotAllowed(host: url.host) }
    }
}

/// Why a URL may not be contacted.
package enum TransportPolicyViolation: Error, Equatable, Sendable, CustomStringConvertible {
    /// `http://` to a host that is not loopback: never allowed.
    case plainHTTPOffLoopback(host: String)
    /// `http://` to a loopback host without the opt-in.
    case plainHTTPLoopbackNotAllowed(host: String)

    package var description: String {
        switch self {
        case .plainHTTPOffLoopback(let host):
            "uses plain http to \(host); only https is allowed (http only for loopback addresses with --allow-http-loopback)"
        case .plainHTTPLoopbackNotAllowed(let host):
            "uses plain http to the loopback host \(host); start the daemon with --allow-http-loopback to allow it"
        }
    }
}
