/// How private a network address is, for the SSRF rule: URLs learned from metadata may
/// not reach a more private class than the resource the client named (RFC 9728 §7.7,
/// MCP's security best practices). A public MCP server cannot make the broker fetch
/// from the machine itself or the local network.
package enum AddressClass: Int, Comparable, Sendable, CustomStringConvertible {
    /// Never contacted: cloud metadata services (169.254.169.254, fd00:ec2::254) and the
    /// unspecified addresses (0.0.0.0, ::), which reach the machine itself.
    case forbidden = -1
    /// 127.0.0.0/8, ::1.
    case loopback = 0
    /// RFC 1918, CGNAT 100.64/10, link-local 169.254/16 and fe80::/10, unique local fc00::/7.
    case privateNetwork = 1
    /// Everything else.
    case publicNetwork = 2

    package static func < (lhs: AddressClass, rhs: AddressClass) -> Bool { lhs.rawValue < rhs.rawValue }

    package var description: String {
        switch self {
        case .forbidden: "a forbidden address (a cloud metadata service or an unspecified address)"
        case .loopback: "a loopback address"
        case .privateNetwork: "a private or link-local address"
        case .publicNetwork: "a public address"
        }
    }

    /// The class of an IPv4 (4 bytes) or IPv6 (16 bytes) address; `nil` for other lengths.
    package init?(addressBytes bytes: [UInt8]) {
        switch bytes.count {
        case 4: self = Self.classify(ipv4: bytes)
        case 16: self = Self.classify(ipv6: bytes)
        default: return nil
        }
    }

    /// May a URL learned from a resource of class `resource` reach an address of this class?
    package func isReachable(fromResourceOf resource: AddressClass) -> Bool {
        self != .forbidden && self >= min(resource, .publicNetwork)
    }

    private static func classify(ipv4 b: [UInt8]) -> AddressClass {
        if b == [169, 254, 169, 254] || b[0] == 0 { return .forbidden }
        if b[0] == 127 { return .loopback }
        if b[0] == 10 || (b[0] == 172 && (16...31).contains(b[1])) || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && (64...127).contains(b[1]))
        {
            return .privateNetwork
        }
        return .publicNetwork
    }

    private static func classify(ipv6 b: [UInt8]) -> AddressClass {
        if b.allSatisfy({ $0 == 0 }) { return .forbidden }
        if b[..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return .loopback }
        // IPv4-mapped ::ffff:a.b.c.d is the IPv4 address.
        if b[..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF { return classify(ipv4: Array(b[12...])) }
        // fd00:ec2::254, the IPv6 instance metadata address.
        if b == [0xFD, 0x00, 0x0E, 0xC2] + [UInt8](repeating: 0, count: 10) + [0x02, 0x54] { return .forbidden }
        if (b[0] & 0xFE) == 0xFC || (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) { return .privateNetwork }
        return .publicNetwork
    }
}
