#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif
internal import Crypto
internal import _CryptoExtras

/// A private key that signs client assertions (`private_key_jwt`, RFC 7523 §2.2): ES256
/// with a P-256 key, or RS256 with an RSA key of 2048 bits or more.
package struct ClientSigningKey: Sendable, Equatable {
    /// The JWS algorithm the key signs with.
    package enum Algorithm: String, Sendable, Equatable, CaseIterable {
        case es256 = "ES256"
        case rs256 = "RS256"
    }

    private enum Key: @unchecked Sendable {
        case p256(P256.Signing.PrivateKey)
        case rsa(_RSA.Signing.PrivateKey)
    }

    private let key: Key

    /// The algorithm this key signs with.
    package var algorithm: Algorithm {
        switch key {
        case .p256: .es256
        case .rsa: .rs256
        }
    }

    /// Reads a PEM private key (PKCS#8 `PRIVATE KEY`, SEC 1 `EC PRIVATE KEY` or PKCS#1
    /// `RSA PRIVATE KEY`). With `algorithm`, the key must be of its kind.
    package init(pem: String, algorithm: Algorithm? = nil) throws(ClientSigningKeyError) {
        if algorithm != .rs256, let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) {
            self.key = .p256(key)
        } else if algorithm != .es256, let key = try? _RSA.Signing.PrivateKey(pemRepresentation: pem) {
            self.key = .rsa(key)
        } else {
            throw ClientSigningKeyError(algorithm: algorithm)
        }
    }

    /// Signs `input` (the JWS signing input): ECDSA r‖s for ES256 (RFC 7518 §3.4),
    /// PKCS #1 v1.5 for RS256 (RFC 7518 §3.3).
    func sign(_ input: Data) throws -> Data {
        switch key {
        case .p256(let key): try key.signature(for: input).rawRepresentation
        case .rsa(let key): try key.signature(for: input, padding: .insecurePKCS1v1_5).rawRepresentation
        }
    }

    /// The public key, DER (SubjectPublicKeyInfo): to verify signatures and tell keys apart.
    package var publicKeyDER: Data {
        switch key {
        case .p256(let key): key.publicKey.derRepresentation
        case .rsa(let key): key.publicKey.derRepresentation
        }
    }

    package static func == (lhs: ClientSigningKey, rhs: ClientSigningKey) -> Bool {
        lhs.publicKeyDER == rhs.publicKeyDER
    }
}

/// A PEM that holds no usable signing key. Says nothing of the key's bytes.
package struct ClientSigningKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The algorithm asked for, if any.
    package var algorithm: ClientSigningKey.Algorithm?

    /// An error for a key that is not one `algorithm` (or, `nil`, any supported one) signs with.
    package init(algorithm: ClientSigningKey.Algorithm?) {
        self.algorithm = algorithm
    }

    package var description: String {
        switch algorithm {
        case .es256: "the key is not a P-256 private key in PEM, which ES256 needs"
        case .rs256: "the key is not an RSA private key of 2048 bits or more in PEM, which RS256 needs"
        case nil: "the key is not a P-256 or RSA (2048 bits or more) private key in PEM"
        }
    }
}

/// The key a client signs its assertions with, and the authorization server they are for.
package struct ClientAssertionKey: Sendable, Equatable {
    /// The signing key.
    package var key: ClientSigningKey
    /// The `kid` header, when the server needs it to pick the key among several.
    package var keyID: String?
    /// The `aud` claim: the authorization server's issuer identifier (RFC 7523bis; the
    /// MCP conformance suite checks exactly this).
    package var audience: String

    /// Creates an assertion key for the server whose issuer is `audience`.
    package init(key: ClientSigningKey, keyID: String? = nil, audience: String) {
        self.key = key
        self.keyID = keyID
        self.audience = audience
    }
}

/// A client assertion JWT (RFC 7523 §3): `iss` and `sub` the client_id, `aud` the
/// authorization server, short-lived, with a unique `jti` so it cannot be replayed.
package enum ClientAssertion {
    /// `client_assertion_type` for a JWT (RFC 7523 §2.2).
    package static let type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    /// How long an assertion is valid: one request's worth, with room for clock skew.
    package static let lifetime: TimeInterval = 120

    private struct Header: Encodable {
        var alg: String
        var typ = "JWT"
        var kid: String?
    }

    private struct Claims: Encodable {
        var iss: String
        var sub: String
        var aud: String
        var iat: Int
        var exp: Int
        var jti: String
    }

    /// Signs an assertion for `clientID`, issued at `now`, with identifier `id` (random when not given).
    package static func sign(clientID: String, key: ClientAssertionKey, now: Date, id: String? = nil) throws -> Secret {
        let issuedAt = Int(now.timeIntervalSince1970)
        let header = Header(alg: key.key.algorithm.rawValue, kid: key.keyID)
        let claims = Claims(
            iss: clientID, sub: clientID, aud: key.audience, iat: issuedAt, exp: issuedAt + Int(lifetime),
            jti: id ?? AuthorizationState.generate().value)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let input = Base64URL.encode(Array(try encoder.encode(header))) + "." + Base64URL.encode(Array(try encoder.encode(claims)))
        let signature = try key.key.sign(Data(input.utf8))
        return Secret(input + "." + Base64URL.encode(Array(signature)))
    }
}
