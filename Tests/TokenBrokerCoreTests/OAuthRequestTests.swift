import Foundation
import Testing
import TokenBrokerCore

@Suite struct OAuthRequestTests {
    let tokenEndpoint = try! HTTPURL(parsing: "https://as.example/token")
    let resource = try! ResourceURI("https://rs.example/mcp", policy: .strict)
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    private func fields(_ post: OAuthFormPost) -> [String: String] {
        Dictionary(uniqueKeysWithValues: post.formFields)
    }

    @Test func codeExchangeCarriesVerifierResourceAndPublicClientID() {
        let post = OAuthRequests.authorizationCodeExchange(
            tokenEndpoint: tokenEndpoint, code: Secret("c0de"), redirectURI: "http://127.0.0.1:53682/callback",
            verifier: Secret("v" + String(repeating: "e", count: 42)), resource: resource,
            client: ClientCredentials(clientID: "public-1"), now: now)
        let form = fields(post)
        #expect(form["grant_type"] == "authorization_code")
        #expect(form["code"] == "c0de")
        #expect(form["redirect_uri"] == "http://127.0.0.1:53682/callback")
        #expect(form["code_verifier"]?.count == 43)
        #expect(form["resource"] == "https://rs.example/mcp")
        #expect(form["client_id"] == "public-1")
        #expect(form["client_secret"] == nil)
        #expect(post.authorization == nil)
    }

    /// conformance token-endpoint-auth-basic: a Basic header with id:secret, form-encoded first.
    @Test func clientSecretBasic() throws {
        let post = OAuthRequests.refresh(
            tokenEndpoint: tokenEndpoint, refreshToken: Secret("rt"), resource: resource,
            client: ClientCredentials(clientID: "id:1", clientSecret: Secret("s3cret/+"), authenticationMethod: .clientSecretBasic), now: now)
        let header = try #require(post.authorization?.exposedValue)
        #expect(header.hasPrefix("Basic "))
        let decoded = String(decoding: try #require(Data(base64Encoded: String(header.dropFirst(6)))), as: UTF8.self)
        #expect(decoded == "id%3A1:s3cret%2F%2B")
        #expect(fields(post)["client_secret"] == nil)
        #expect(fields(post)["scope"] == nil)
        #expect(fields(post)["resource"] == "https://rs.example/mcp")
    }

    /// conformance token-endpoint-auth-post.
    @Test func clientSecretPost() {
        let post = OAuthRequests.refresh(
            tokenEndpoint: tokenEndpoint, refreshToken: Secret("rt"), resource: resource,
            client: ClientCredentials(clientID: "id", clientSecret: Secret("s"), authenticationMethod: .clientSecretPost), now: now)
        #expect(fields(post)["client_secret"] == "s")
        #expect(post.authorization == nil)
    }

    @Test func revocationOfAPublicClientSendsAnEmptySecret() {
        let post = OAuthRequests.revocation(
            revocationEndpoint: try! HTTPURL(parsing: "https://as.example/revoke"), token: Secret("rt"),
            hint: "refresh_token", client: ClientCredentials(clientID: "pub"), now: now)
        #expect(fields(post) == ["token": "rt", "token_type_hint": "refresh_token", "client_secret": "", "client_id": "pub"])
    }

    @Test func postsNeverPrintTheirSecrets() {
        let post = OAuthRequests.refresh(
            tokenEndpoint: tokenEndpoint, refreshToken: Secret("rt-SECRET"), resource: resource,
            client: ClientCredentials(clientID: "id", clientSecret: Secret("cs-SECRET"), authenticationMethod: .clientSecretBasic),
            now: now)
        var dumped = ""
        dump(post, to: &dumped)
        #expect(!dumped.contains("SECRET"))
        #expect(!"\(post)".contains("SECRET"))
    }

    @Test func registrationRequestIsANativePublicClientWithRefresh() throws {
        let request = ClientRegistrationRequest(
            redirectURI: "http://127.0.0.1:53682/callback", clientName: "tokenbroker", scopes: try ScopeSet(parsing: "files:read files:write"))
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(request)) as! [String: Any]
        #expect(json["application_type"] as? String == "native")
        #expect(json["token_endpoint_auth_method"] as? String == "none")
        #expect(json["grant_types"] as? [String] == ["authorization_code", "refresh_token"])
        #expect(json["redirect_uris"] as? [String] == ["http://127.0.0.1:53682/callback"])
        #expect(json["scope"] as? String == "files:read files:write")
        let unscoped = ClientRegistrationRequest(redirectURI: "x", clientName: "t", scopes: [])
        let unscopedJSON = try JSONSerialization.jsonObject(with: JSONEncoder().encode(unscoped)) as! [String: Any]
        #expect(unscopedJSON["scope"] == nil)
    }

    @Test(arguments: [
        (#"{"client_id":"a"}"#, ClientAuthenticationMethod.none),
        (#"{"client_id":"a","client_secret":"s"}"#, .clientSecretBasic),
        (#"{"client_id":"a","client_secret":"s","token_endpoint_auth_method":"client_secret_post"}"#, .clientSecretPost),
        (#"{"client_id":"a","client_secret":"","token_endpoint_auth_method":"client_secret_post"}"#, .none),
    ])
    func registrationResponseDecidesTheAuthMethod(_ json: String, _ method: ClientAuthenticationMethod) throws {
        let response = try JSONDecoder().decode(ClientRegistrationResponse.self, from: Data(json.utf8))
        #expect(response.credentials.authenticationMethod == method)
    }
}

@Suite struct ClientIdentityChoiceTests {
    private func server(
        cimd: Bool = false, iss: Bool = true, registration: Bool = true, issuer: String = "https://as.example"
    ) -> ValidatedAuthorizationServer {
        try! MetadataValidation.validateAuthorizationServer(
            AuthorizationServerMetadata(
                issuer: issuer, authorizationEndpoint: "\(issuer)/authorize", tokenEndpoint: "\(issuer)/token",
                registrationEndpoint: registration ? "\(issuer)/register" : nil,
                authorizationResponseIssParameterSupported: iss, clientIdMetadataDocumentSupported: cimd),
            expectedIssuer: issuer, policy: .strict)
    }

    let cimdURL = "https://example.com/tokenbroker/client.json"
    let resource = try! ResourceURI("https://rs.example/mcp", policy: .strict)

    @Test func preregisteredForThisIssuerComesFirst() {
        let client = PreregisteredClient(issuer: "https://as.example", credentials: ClientCredentials(clientID: "pre"))
        #expect(ClientIdentityChoice.choose(for: server(cimd: true), resource: resource, preregistered: [client], metadataDocumentClientID: cimdURL)
            == .preregistered(ClientCredentials(clientID: "pre")))
    }

    /// SEP-2352: credentials of another authorization server are never used.
    @Test func preregisteredForAnotherIssuerIsIgnored() {
        let client = PreregisteredClient(issuer: "https://other.example", credentials: ClientCredentials(clientID: "pre"))
        #expect(ClientIdentityChoice.choose(for: server(), resource: resource, preregistered: [client], metadataDocumentClientID: nil)
            == .dynamicRegistration(endpoint: try! HTTPURL(parsing: "https://as.example/register")))
    }

    /// conformance basic-cimd: metadata document before DCR when the server supports it.
    @Test func metadataDocumentWhenSupportedAndConfigured() {
        #expect(ClientIdentityChoice.choose(for: server(cimd: true), resource: resource, preregistered: [], metadataDocumentClientID: cimdURL)
            == .metadataDocument(clientID: cimdURL))
        #expect(ClientIdentityChoice.choose(for: server(cimd: false), resource: resource, preregistered: [], metadataDocumentClientID: cimdURL)
            == .dynamicRegistration(endpoint: try! HTTPURL(parsing: "https://as.example/register")))
        #expect(ClientIdentityChoice.choose(for: server(cimd: true), resource: resource, preregistered: [], metadataDocumentClientID: "https://example.com")
            == .dynamicRegistration(endpoint: try! HTTPURL(parsing: "https://as.example/register")))
    }

    /// A metadata document is the same client and redirect URI at every server: only
    /// RFC 9207 `iss` tells their responses apart, so not with a server that lacks it.
    @Test func metadataDocumentOnlyWithIss() {
        #expect(ClientIdentityChoice.choose(for: server(cimd: true, iss: false), resource: resource, preregistered: [], metadataDocumentClientID: cimdURL)
            == .dynamicRegistration(endpoint: try! HTTPURL(parsing: "https://as.example/register")))
        #expect(ClientIdentityChoice.choose(for: server(cimd: true, iss: false, registration: false), resource: resource, preregistered: [], metadataDocumentClientID: cimdURL)
            == .unavailable)
    }

    @Test func nothingPossible() {
        #expect(ClientIdentityChoice.choose(for: server(registration: false), resource: resource, preregistered: [], metadataDocumentClientID: nil) == .unavailable)
    }
}

@Suite struct LoopbackRedirectTests {
    /// Distinct per issuer (a trailing slash is another issuer), stable, and recognised.
    @Test func eachIssuerHasItsOwnPath() {
        let honest = LoopbackRedirect.path(forIssuer: "https://as.example")
        #expect(honest == LoopbackRedirect.path(forIssuer: "https://as.example"))
        #expect(honest != LoopbackRedirect.path(forIssuer: "https://as.example/"))
        #expect(honest != LoopbackRedirect.path(forIssuer: "https://attacker.example"))
        #expect(honest.hasPrefix("/callback/") && honest.count == "/callback/".count + 16)
        #expect(LoopbackRedirect.isRedirectPath(honest))
        #expect(LoopbackRedirect.isRedirectPath("/callback"))
        for other in ["/callbacks", "/callback/", "/callback/xyz", "/callback/0123456789abcdef/x", "/"] {
            #expect(!LoopbackRedirect.isRedirectPath(other), "\(other)")
        }
    }
}

@Suite struct AddressClassTests {
    @Test(arguments: [
        ([127, 0, 0, 1], AddressClass.loopback), ([127, 9, 9, 9], .loopback),
        ([10, 0, 0, 1], .privateNetwork), ([172, 16, 0, 1], .privateNetwork), ([172, 31, 255, 1], .privateNetwork),
        ([172, 32, 0, 1], .publicNetwork), ([192, 168, 1, 1], .privateNetwork), ([100, 64, 0, 1], .privateNetwork),
        ([169, 254, 1, 1], .privateNetwork), ([169, 254, 169, 254], .forbidden), ([0, 0, 0, 0], .forbidden),
        ([8, 8, 8, 8], .publicNetwork),
    ] as [([UInt8], AddressClass)])
    func ipv4(_ bytes: [UInt8], _ expected: AddressClass) {
        #expect(AddressClass(addressBytes: bytes) == expected)
    }

    @Test func ipv6() {
        func v6(_ prefix: [UInt8], last: [UInt8] = []) -> [UInt8] { prefix + [UInt8](repeating: 0, count: 16 - prefix.count - last.count) + last }
        #expect(AddressClass(addressBytes: v6([], last: [1])) == .loopback)
        #expect(AddressClass(addressBytes: v6([])) == .forbidden)
        #expect(AddressClass(addressBytes: v6([0xFE, 0x80], last: [1])) == .privateNetwork)
        #expect(AddressClass(addressBytes: v6([0xFD, 0x12], last: [1])) == .privateNetwork)
        #expect(AddressClass(addressBytes: v6([0xFD, 0x00, 0x0E, 0xC2], last: [0x02, 0x54])) == .forbidden)
        #expect(AddressClass(addressBytes: v6([], last: [0xFF, 0xFF, 10, 0, 0, 1])) == .privateNetwork)
        #expect(AddressClass(addressBytes: v6([0x20, 0x01, 0x0D, 0xB8], last: [1])) == .publicNetwork)
        #expect(AddressClass(addressBytes: [1, 2, 3]) == nil)
    }

    /// Loopback < private < public: nothing more private than the resource, never forbidden.
    @Test func reachability() {
        #expect(AddressClass.publicNetwork.isReachable(fromResourceOf: .publicNetwork))
        #expect(!AddressClass.privateNetwork.isReachable(fromResourceOf: .publicNetwork))
        #expect(!AddressClass.loopback.isReachable(fromResourceOf: .privateNetwork))
        #expect(AddressClass.privateNetwork.isReachable(fromResourceOf: .loopback))
        #expect(!AddressClass.forbidden.isReachable(fromResourceOf: .loopback))
    }
}
