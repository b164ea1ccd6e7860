internal import Dispatch
internal import TokenBrokerCore

#if canImport(Glibc)
internal import Glibc
#endif

/// Name resolution for the SSRF rule: which address classes a host reaches.
enum AddressResolver {
    /// The most private class among the addresses `host` resolves to (a client may be
    /// connected to any of them); `nil` when it does not resolve. A bracketed IPv6
    /// literal is accepted. getaddrinfo blocks, so it runs off the cooperative pool; a
    /// cancelled caller stops waiting for it (`nil`).
    static func mostPrivateClass(of host: String) async -> AddressClass? {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let resolved = OneShot<[AddressClass]>()
        DispatchQueue.global().async { resolved.fulfill(classes(of: name)) }
        return await resolved.value()?.min()
    }

    private static func classes(of name: String) -> [AddressClass] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var found: [AddressClass] = []
        var entry = list
        while let current = entry {
            if let address = current.pointee.ai_addr {
                switch Int32(address.pointee.sa_family) {
                case AF_INET:
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { ipv4 in
                        let bytes = withUnsafeBytes(of: ipv4.pointee.sin_addr) { Array($0) }
                        if let addressClass = AddressClass(addressBytes: bytes) { found.append(addressClass) }
                    }
                case AF_INET6:
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { ipv6 in
                        let bytes = withUnsafeBytes(of: ipv6.pointee.sin6_addr) { Array($0) }
                        if let addressClass = AddressClass(addressBytes: bytes) { found.append(addressClass) }
                    }
                default:
                    break
                }
            }
            entry = current.pointee.ai_next
        }
        return found
    }
}
