import Crypto
import Foundation
import Testing
import TokenBrokerCore
import _CryptoExtras

/// `private_key_jwt` (RFC 7523): assertions signed with ES256 and RS256 that the public
/// key verifies, with the claims the MCP conformance suite checks.
@Suite struct ClientAssertionTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let issuer = "https://as.example"

    private func decode(_ part: Substring) throws -> [String: Any] {
        var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        let data = try #require(Data(base64Encoded: base64))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private func signature(_ part: Substring) throws -> Data {
        var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return try #require(Data(base64Encoded: base64))
    }

    @Test func es256() throws {
        let key = P256.Signing.PrivateKey()
        let signing = try ClientSigningKey(pem: key.pemRepresentation)
        #expect(signing.algorithm == .es256)
        let jwt = try ClientAssertion.sign(
            clientID: "ci-runner", key: ClientAssertionKey(key: signing, keyID: "k1", audience: issuer), now: now, id: "jti-1")
        let parts = jwt.exposedValue.split(separator: ".")
        try #require(parts.count == 3)
        let header = try decode(parts[0])
        #expect(header["alg"] as? String == "ES256")
        #expect(header["typ"] as? String == "JWT")
        #expect(header["kid"] as? String == "k1")
        let claims = try decode(parts[1])
        #expect(claims["iss"] as? String == "ci-runner")
        #expect(claims["sub"] as? String == "ci-runner")
        #expect(claims["aud"] as? String == issuer)
        #expect(claims["iat"] as? Int == 1_800_000_000)
        #expect(claims["exp"] as? Int == 1_800_000_000 + Int(ClientAssertion.lifetime))
        #expect(claims["jti"] as? String == "jti-1")
        let raw = try P256.Signing.ECDSASignature(rawRepresentation: try signature(parts[2]))
        #expect(key.publicKey.isValidSignature(raw, for: Data((parts[0] + "." + parts[1]).utf8)))
        #expect(!key.publicKey.isValidSignature(raw, for: Data((parts[0] + "." + parts[0]).utf8)))
    }

    @Test func rs256() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let signing = try ClientSigningKey(pem: key.pemRepresentation, algorithm: .rs256)
        #expect(signing.algorithm == .rs256)
        let jwt = try ClientAssertion.sign(clientID: "c", key: ClientAssertionKey(key: signing, audience: issuer), now: now)
        let parts = jwt.exposedValue.split(separator: ".")
        try #require(parts.count == 3)
        #expect(try decode(parts[0])["alg"] as? String == "RS256")
        #expect(try decode(parts[0])["kid"] == nil)
        let raw = _RSA.Signing.RSASignature(rawRepresentation: try signature(parts[2]))
        #expect(key.publicKey.isValidSignature(raw, for: Data((parts[0] + "." + parts[1]).utf8), padding: .insecurePKCS1v1_5))
    }

    /// Each assertion has its own `jti`, so a captured one cannot be replayed as new.
    @Test func everyAssertionIsUnique() throws {
        let key = ClientAssertionKey(key: try ClientSigningKey(pem: P256.Signing.PrivateKey().pemRepresentation), audience: issuer)
        let first = try ClientAssertion.sign(clientID: "c", key: key, now: now)
        let second = try ClientAssertion.sign(clientID: "c", key: key, now: now)
        #expect(first != second)
    }

    @Test func aKeyOfTheWrongKindIsRefused() throws {
        let ec = P256.Signing.PrivateKey().pemRepresentation
        #expect(throws: ClientSigningKeyError(algorithm: .rs256)) { try ClientSigningKey(pem: ec, algorithm: .rs256) }
        #expect(throws: ClientSigningKeyError(algorithm: nil)) { try ClientSigningKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----") }
        let small = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
        #expect(throws: ClientSigningKeyError.self) { try ClientSigningKey(pem: small.pemRepresentation) }
    }

    /// The client credentials request: the grant, scope, RFC 8707 resource, client_id and
    /// the assertion instead of any secret.
    @Test func aClientCredentialsRequestWithAnAssertion() throws {
        let key = ClientAssertionKey(key: try ClientSigningKey(pem: P256.Signing.PrivateKey().pemRepresentation), audience: issuer)
        let post = OAuthRequests.clientCredentials(
            tokenEndpoint: try HTTPURL(parsing: "https://as.example/token"), scopes: try ScopeSet(parsing: "a b"),
            resource: try ResourceURI("https://rs.example/mcp", policy: .strict),
            client: ClientCredentials(clientID: "ci", assertionKey: key), now: now)
        let form = Dictionary(uniqueKeysWithValues: post.formFields)
        #expect(form["grant_type"] == "client_credentials")
        #expect(form["scope"] == "a b")
        #expect(form["resource"] == "https://rs.example/mcp")
        #expect(form["client_id"] == "ci")
        #expect(form["client_assertion_type"] == ClientAssertion.type)
        #expect(form["client_assertion"]?.split(separator: ".").count == 3)
        #expect(form["client_secret"] == nil)
        #expect(post.authorization == nil)
        // Secrets stay out of descriptions.
        #expect(!"\(post)".contains(form["client_assertion"]!))
    }
}
