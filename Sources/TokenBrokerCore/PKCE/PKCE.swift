#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
internal import Crypto

/// A PKCE pair (RFC 7636) using `S256`, the only method the broker sends.
package struct PKCE: Sendable, Equatable {
    /// The code verifier: kept by the broker, sent only to the token endpoint.
    package let verifier: Secret
    /// `BASE64URL(SHA256(verifier))`, sent in the authorization request.
    package let challenge: String
    /// Always `S256`.
    package static let method = "S256"

    /// A fresh pair with 256 bits of entropy (a 43-character verifier).
    package static func generate() -> PKCE {
        // 32 random bytes encode to 43 base64url characters: the minimum length, full entropy.
        let verifier = Base64URL.encode(SecureRandom.bytes(count: 32))
        return PKCE(verifier: Secret(verifier), challenge: challenge(for: verifier))
    }

    /// Recreates the pair for a stored verifier, checking RFC 7636 §4.1's syntax.
    package init(verifier: Secret) throws(PKCEError) {
        guard PKCE.isValidVerifier(verifier.exposedValue) else { throw .invalidVerifier }
        self.init(verifier: verifier, challenge: PKCE.challenge(for: verifier.exposedValue))
    }

    private init(verifier: Secret, challenge: String) {
        self.verifier = verifier
        self.challenge = challenge
    }

    /// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`.
    package static func challenge(for verifier: String) -> String {
        Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8))))
    }

    /// `code-verifier = 43*128unreserved`.
    package static func isValidVerifier(_ text: String) -> Bool {
        (43...128).contains(text.utf8.count) && text.utf8.allSatisfy(isUnreserved)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}

/// A stored verifier that is not valid PKCE.
package enum PKCEError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidVerifier

    package var description: String {
        "the PKCE code verifier is not 43 to 128 unreserved characters (RFC 7636 §4.1)"
    }
}

/// Base64url without padding (RFC 4648 §5), as PKCE and `state` use it.
package enum Base64URL {
    /// Encodes `bytes` without `=` padding.
    package static func encode(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.last == "=" { text.removeLast() }
        return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }
}
