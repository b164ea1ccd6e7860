internal import Crypto

/// The `state` parameter: an unguessable value binding a callback to the request that
/// started it (RFC 6749 §10.12).
package struct AuthorizationState: Hashable, Sendable, CustomStringConvertible {
    /// The value sent in the authorization request and expected back.
    package let value: String

    /// 256 bits from the system's secure random source.
    package static func generate() -> AuthorizationState {
        AuthorizationState(value: Base64URL.encode(SecureRandom.bytes(count: 32)))
    }

    /// Wraps a value read back from a callback or the database.
    package init(value: String) {
        self.value = value
    }

    /// `state` guards one sign-in; like a secret, it is never printed in full.
    package var description: String { "state(\(value.prefix(4))…)" }
}

/// Random bytes from the operating system's CSPRNG (getrandom(2) on Linux).
enum SecureRandom {
    static func bytes(count: Int) -> [UInt8] {
        // SymmetricKey draws from swift-crypto's secure random source.
        let key = SymmetricKey(size: SymmetricKeySize(bitCount: count * 8))
        return key.withUnsafeBytes { Array($0) }
    }
}
