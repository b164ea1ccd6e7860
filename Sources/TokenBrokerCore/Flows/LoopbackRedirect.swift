internal import Crypto

/// The loopback redirect URI's path (RFC 8252 §7.3). A client registered dynamically gets
/// a path of its own per authorization server, so a response that comes back on another
/// server's path is recognised as a mix-up (RFC 9700 §4.4.2) and refused.
package enum LoopbackRedirect {
    /// The path clients that are not registered per server use: pre-registered ones (the
    /// operator registered it) and metadata documents (one document for every server).
    package static let sharedPath = "/callback"

    /// `/callback/<16 hex digits of SHA-256(issuer)>`: stable across restarts, distinct
    /// per issuer, and naming no server in the browser's history.
    package static func path(forIssuer issuer: String) -> String {
        let digest = SHA256.hash(data: Array(issuer.utf8))
        let hex = digest.prefix(8).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]], as: UTF8.self)
        }.joined()
        return sharedPath + "/" + hex
    }

    /// Whether `path` is one of the broker's redirect paths, shared or per issuer.
    package static func isRedirectPath(_ path: String) -> Bool {
        guard path.hasPrefix(sharedPath) else { return false }
        let rest = path.dropFirst(sharedPath.count)
        return rest.isEmpty || (rest.count == 17 && rest.first == "/" && rest.dropFirst().allSatisfy(\.isHexDigit))
    }
}
