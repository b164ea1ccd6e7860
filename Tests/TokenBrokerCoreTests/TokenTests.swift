import Foundation
import Testing
import TokenBrokerCore

@Suite struct PKCETests {
    @Test func rfc7636AppendixBVector() throws {
        let pkce = try PKCE(verifier: Secret("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
        #expect(pkce.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    }

    @Test func generatedPairsAreValidAndDistinct() throws {
        let pairs = (0..<64).map { _ in PKCE.generate() }
        for pair in pairs {
            #expect(PKCE.isValidVerifier(pair.verifier.exposedValue))
            #expect(pair.verifier.exposedValue.count == 43)
            #expect(pair.challenge == PKCE.challenge(for: pair.verifier.exposedValue))
        }
        #expect(Set(pairs.map(\.verifier)).count == 64)
        let states = (0..<64).map { _ in AuthorizationState.generate().value }
        #expect(Set(states).count == 64)
        #expect(states.allSatisfy { $0.count == 43 })
    }

    @Test(arguments: ["short", String(repeating: "a", count: 42), String(repeating: "a", count: 129), String(repeating: "a", count: 42) + "+"])
    func invalidVerifiersAreRefused(_ verifier: String) {
        #expect(throws: PKCEError.invalidVerifier) { try PKCE(verifier: Secret(verifier)) }
    }

    @Test func base64URLMatchesRFC4648Vectors() {
        let vectors: [(String, String)] = [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")]
        for (input, output) in vectors { #expect(Base64URL.encode(Array(input.utf8)) == output) }
        #expect(Base64URL.encode([0xFB, 0xFF, 0xBF]) == "-_-_")
    }

    @Test func secretsAndStatesNeverPrint() {
        let secret = Secret("rt-SECRET-VALUE")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "Secret(<redacted>)")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("SECRET"))
        #expect(!"\(AuthorizationState(value: "abcdefghSECRET"))".contains("SECRET"))
    }
}

@Suite struct FormURLEncodingTests {
    @Test func roundTripOfReservedAndNonASCIICharacters() {
        let pairs = [("code", "a b&c=d/é+~"), ("redirect_uri", "http://127.0.0.1:5555/cb")]
        let encoded = FormURLEncoding.encode(pairs)
        #expect(encoded == "code=a%20b%26c%3Dd%2F%C3%A9%2B~&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2Fcb")
        let decoded = FormURLEncoding.decode(encoded)
        #expect(decoded.map(\.0) == pairs.map(\.0))
        #expect(decoded.map(\.1) == pairs.map(\.1))
    }

    @Test func plusIsSpaceAndBrokenEscapesStayLiteral() {
        let decoded = FormURLEncoding.decode("a=x+y&b=%zz&c=%4&d&=e")
        #expect(decoded.map(\.0) == ["a", "b", "c", "d", ""])
        #expect(decoded.map(\.1) == ["x y", "%zz", "%4", "", "e"])
    }
}

@Suite struct TokenResponseTests {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)

    private func decode(_ json: String) throws(TokenResponseError) -> TokenResponse {
        try TokenResponse.decode(Data(json.utf8))
    }

    private func grant(requested: String = "", granted: String = "", refresh: String? = "rt-old") throws -> Grant {
        Grant(
            resource: try ResourceURI("https://rs.example/mcp", policy: .strict), issuer: "https://as.example",
            requestedScopes: try ScopeSet(parsing: requested), grantedScopes: try ScopeSet(parsing: granted),
            accessToken: Secret("at-old"), refreshToken: refresh.map(Secret.init), createdAt: now, updatedAt: now)
    }

    @Test func explicitScopeIsTheGrantEvenWhenNarrower() throws {
        let response = try decode(#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"scope":"files:read","refresh_token":"rt"}"#)
        let next = try grant().applying(response, round: .authorizationCode(requested: try ScopeSet(parsing: "files:read files:write")), now: now)
        #expect(next.grantedScopes.strings == ["files:read"])
        #expect(next.requestedScopes.strings == ["files:read", "files:write"])
        #expect(next.accessTokenExpiresAt == now.addingTimeInterval(3600))
        #expect(next.refreshToken == Secret("rt"))
    }

    @Test func omittedScopeMeansWhatThatRoundRequested() throws {
        let response = try decode(#"{"access_token":"at","token_type":"bearer"}"#)
        let next = try grant(requested: "a", granted: "a").applying(response, round: .authorizationCode(requested: try ScopeSet(parsing: "a b")), now: now)
        #expect(next.grantedScopes.strings == ["a", "b"])
        #expect(next.accessTokenExpiresAt == nil)
        // A new sign-in replaces the grant: the old refresh token is not kept.
        #expect(next.refreshToken == nil)
    }

    @Test func refreshKeepsScopesAndRefreshTokenWhenOmitted() throws {
        let response = try decode(#"{"access_token":"at2","token_type":"Bearer","expires_in":"60"}"#)
        let next = try grant(requested: "a b", granted: "a").applying(response, round: .refresh, now: now)
        #expect(next.grantedScopes.strings == ["a"])
        #expect(next.requestedScopes.strings == ["a", "b"])
        #expect(next.refreshToken == Secret("rt-old"))
        #expect(next.accessToken == Secret("at2"))
        #expect(next.accessTokenExpiresAt == now.addingTimeInterval(60))
    }

    @Test func rotatedRefreshTokenReplacesTheOldOne() throws {
        let response = try decode(#"{"access_token":"at2","token_type":"Bearer","refresh_token":"rt-new","scope":["a"]}"#)
        let next = try grant(granted: "a b").applying(response, round: .refresh, now: now)
        #expect(next.refreshToken == Secret("rt-new"))
        #expect(next.grantedScopes.strings == ["a"])
    }

    @Test(arguments: [
        (#"{"token_type":"Bearer"}"#, TokenResponseError.missingAccessToken),
        (#"{"access_token":"","token_type":"Bearer"}"#, .missingAccessToken),
        (#"{"access_token":"x"}"#, .missingTokenType),
        (#"{"access_token":"x","token_type":"DPoP"}"#, .unsupportedTokenType("DPoP")),
        (#"{"access_token":"x","token_type":"Bearer","scope":"caf\u00e9"}"#, .invalidScope),
        ("<html>", .malformed),
        (#"["access_token"]"#, .malformed),
        (#"{"access_token":42,"token_type":"Bearer"}"#, .malformed),
    ])
    func unusableResponses(_ json: String, _ expected: TokenResponseError) {
        #expect(throws: expected) { try decode(json) }
    }

    @Test func nonsenseLifetimesAreBounded() throws {
        let negative = try decode(#"{"access_token":"x","token_type":"Bearer","expires_in":-5}"#)
        #expect(try grant().applying(negative, round: .refresh, now: now).accessTokenExpiresAt == nil)
        let huge = try decode(#"{"access_token":"x","token_type":"Bearer","expires_in":9223372036854775807}"#)
        #expect(try grant().applying(huge, round: .refresh, now: now).accessTokenExpiresAt == now.addingTimeInterval(Grant.maximumTokenLifetime))
    }

    @Test func oauthErrorBodies() {
        #expect(OAuthErrorResponse.decode(Data(#"{"error":"invalid_grant"}"#.utf8)) == OAuthErrorResponse(error: "invalid_grant"))
        #expect(OAuthErrorResponse.decode(Data("<html/>".utf8)) == nil)
    }

    @Test func decodedTokensDoNotPrint() throws {
        let response = try decode(#"{"access_token":"at-SECRET","token_type":"Bearer","refresh_token":"rt-SECRET"}"#)
        var dumped = ""
        dump(response, to: &dumped)
        #expect(!dumped.contains("SECRET"))
        #expect(!"\(response)".contains("SECRET"))
    }
}
