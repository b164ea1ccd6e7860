internal import Crypto

/// A PKCE pair (RFC 7636) using `S256`, the only method the broker sends.
public struct PKCE: Sendable, Equatable {
    /// The code verifier: kept by the broker, sent only to the token endpoint.
    public let verifier: Secret
    /// `BASE64URL(SHA256(verifier))`, sent in the authorization request.
    public let challenge: String
    /// Always `S256`.
    public static let method = "S256"

    /// A fresh pair with 256 bits of entropy (a 43-character verifier).
    public static func generate() -> PKCE {
        // 32 random bytes encode to 43 base64url characters: the minimum length, full entropy.
        let verifier = Base64URL.encode(SecureRandom.bytes(count: 32))
        return PKCE(verifier: Secret(verifier), challenge: challenge(for: verifier))
    }

    /// Recreates the pair for a stored verifier, checking RFC 7636 §4.1's syntax.
    public init(verifier: Secret) throws(PKCEError) {
        guard PKCE.isValidVerifier(verifier.exposedValue) else { throw .invalidVerifier }
        self.init(verifier: verifier, challenge: PKCE.challenge(for: verifier.exposedValue))
    }

    private init(verifier: Secret, challenge: String) {
        self.verifier = verifier
        self.challenge = challenge
    }

    /// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`.
    public static func challenge(for verifier: String) -> String {
        Base64URL.encode(Array(SHA256.hash(data: Array(verifier.utf8))))
    }

    /// `code-verifier = 43*128unreserved`.
    public static func isValidVerifier(_ text: String) -> Bool {
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
public enum PKCEError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidVerifier

    public var description: String {
        "the PKCE code verifier is not 43 to 128 unreserved characters (RFC 7636 §4.1)"
    }
}

/// The `state` parameter: an unguessable value binding a callback to the request that
/// started it (RFC 6749 §10.12).
public struct AuthorizationState: Hashable, Sendable, CustomStringConvertible {
    /// The value sent in the authorization request and expected back.
    public let value: String

    /// 256 bits from the system's secure random source.
    public static func generate() -> AuthorizationState {
        AuthorizationState(value: Base64URL.encode(SecureRandom.bytes(count: 32)))
    }

    /// Wraps a value read back from a callback or the database.
    public init(value: String) {
        self.value = value
    }

    /// `state` guards one sign-in; like a secret, it is never printed in full.
    public var description: String { "state(\(value.prefix(4))…)" }
}

/// Random bytes from the operating system's CSPRNG (getrandom(2) on Linux).
enum SecureRandom {
    static func bytes(count: Int) -> [UInt8] {
        // SymmetricKey draws from swift-crypto's secure random source.
        let key = SymmetricKey(size: SymmetricKeySize(bitCount: count * 8))
        return key.withUnsafeBytes { Array($0) }
    }
}

/// Base64url without padding (RFC 4648 §5), as PKCE and `state` use it.
public enum Base64URL {
    /// Encodes `bytes` without `=` padding.
    public static func encode(_ bytes: [UInt8]) -> String {
        Base64Encoding.encode(bytes, alphabet: Base64Encoding.urlAlphabet, padding: false)
    }
}

/// Base64 with the standard alphabet and padding (RFC 4648 §4), for HTTP Basic.
enum Base64Encoding {
    static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8], alphabet: [UInt8] = standardAlphabet, padding: Bool = true) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let count = min(3, bytes.count - index)
            var chunk = UInt32(bytes[index]) << 16
            if count > 1 { chunk |= UInt32(bytes[index + 1]) << 8 }
            if count > 2 { chunk |= UInt32(bytes[index + 2]) }
            for position in 0..<4 {
                if position <= count {
                    output.append(alphabet[Int(chunk >> (18 - 6 * UInt32(position)) & 63)])
                } else if padding {
                    output.append(UInt8(ascii: "="))
                }
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
