import Foundation
import Testing
import TokenBrokerCore

@Suite struct ProtectedResourceValidationTests {
    private func validate(_ declared: String?, server: String, servers: [String]? = ["https://as.example"])
        throws(DiscoveryError) -> ValidatedProtectedResource
    {
        try MetadataValidation.validateProtectedResource(
            ProtectedResourceMetadata(resource: declared, authorizationServers: servers, scopesSupported: ["files:read"]),
            serverURL: try! HTTPURL(parsing: server), policy: .loopbackHTTPAllowed)
    }

    @Test(arguments: [
        ("https://rs.example/mcp", "https://rs.example/mcp", "https://rs.example/mcp"),
        // http-mcp serves /mcp/ but declares http://p/mcp.
        ("http://127.0.0.1:9/mcp", "http://127.0.0.1:9/mcp/", "http://127.0.0.1:9/mcp"),
        // conformance metadata-var2: root PRM declares the origin.
        ("https://rs.example", "https://rs.example/mcp", "https://rs.example"),
        // django-oauth-toolkit: one resource for several endpoints below it.
        ("https://rs.example/api/files", "https://rs.example/api/files/read", "https://rs.example/api/files"),
        ("HTTPS://RS.example/mcp/", "https://rs.example/mcp", "https://rs.example/mcp"),
    ])
    func acceptedResources(_ declared: String, _ server: String, _ key: String) throws {
        #expect(try validate(declared, server: server).resource.string == key)
    }

    @Test(arguments: [
        ("https://evil.example.com/mcp", "https://rs.example/mcp"),
        ("https://rs.example/api", "https://rs.example/apiary"),
        ("https://rs.example/mcp/deeper", "https://rs.example/mcp"),
        ("https://rs.example:8443/mcp", "https://rs.example/mcp"),
        ("http://rs.example/mcp", "https://rs.example/mcp"),
        ("not a url", "https://rs.example/mcp"),
    ])
    func refusedResources(_ declared: String, _ server: String) {
        #expect(throws: DiscoveryError.self) { try validate(declared, server: server) }
    }

    @Test func missingResourceAndNoUsableServerAreErrors() {
        #expect(throws: DiscoveryError.resourceMissing) { try validate(nil, server: "https://rs.example/mcp") }
        #expect(throws: DiscoveryError.noAuthorizationServers) {
            try validate("https://rs.example/mcp", server: "https://rs.example/mcp", servers: ["http://as.example", "javascript:x"])
        }
        #expect(throws: DiscoveryError.noAuthorizationServers) {
            try validate("https://rs.example/mcp", server: "https://rs.example/mcp", servers: nil)
        }
    }

    @Test func issuersAreKeptAsWrittenForExactComparisonLater() throws {
        let validated = try validate("http://127.0.0.1:1/mcp", server: "http://127.0.0.1:1/mcp", servers: ["http://127.0.0.1:2/"])
        #expect(validated.authorizationServers == ["http://127.0.0.1:2/"])
        #expect(validated.scopesSupported.strings == ["files:read"])
    }

    @Test func mismatchMessageShortensHostileValues() {
        let hostile = "https://evil.example/" + String(repeating: "a", count: 5000)
        do {
            _ = try validate(hostile, server: "https://rs.example/mcp")
            Issue.record("expected a mismatch")
        } catch {
            #expect(error.description.count < 600)
        }
    }
}

@Suite struct AuthorizationServerValidationTests {
    private func metadata(issuer: String? = "https://as.example", methods: [String]? = ["S256"]) -> AuthorizationServerMetadata {
        AuthorizationServerMetadata(
            issuer: issuer, authorizationEndpoint: "https://as.example/authorize", tokenEndpoint: "https://as.example/token",
            registrationEndpoint: "https://as.example/register", scopesSupported: ["files:read", "offline_access"],
            codeChallengeMethodsSupported: methods)
    }

    @Test func exactIssuerIsAccepted() throws {
        let validated = try MetadataValidation.validateAuthorizationServer(metadata(), expectedIssuer: "https://as.example", policy: .strict)
        #expect(validated.issuer == "https://as.example")
        #expect(validated.tokenEndpoint.string == "https://as.example/token")
        #expect(validated.scopesSupported.contains(.offlineAccess))
        #expect(!validated.issParameterSupported)
        #expect(validated.tokenEndpointAuthMethods == ["client_secret_basic"])
    }

    @Test func emptyPathAndSlashAreTheSameIssuer() throws {
        // http-mcp lists "http://AS/" in PRM; the MCP SDK's AS says "http://AS".
        let validated = try MetadataValidation.validateAuthorizationServer(metadata(), expectedIssuer: "https://as.example/", policy: .strict)
        #expect(validated.issuer == "https://as.example")
        #expect(MetadataValidation.issuersMatch(declared: "https://as.example/", expected: "https://as.example"))
        #expect(!MetadataValidation.issuersMatch(declared: "https://as.example/t/", expected: "https://as.example/t"))
        #expect(!MetadataValidation.issuersMatch(declared: "https://AS.example", expected: "https://as.example"))
        #expect(!MetadataValidation.issuersMatch(declared: "https://as.example:443", expected: "https://as.example"))
    }

    @Test(arguments: [
        ("https://attacker.example.com", "https://as.example"),
        ("https://as.example/tenant1", "https://as.example/tenant2"),
        ("https://as.example/tenant1/", "https://as.example/tenant1"),
    ])
    func issuerMismatchIsRefused(_ declared: String, _ expected: String) {
        #expect(throws: DiscoveryError.issuerMismatch(expected: expected, declared: declared)) {
            try MetadataValidation.validateAuthorizationServer(metadata(issuer: declared), expectedIssuer: expected, policy: .strict)
        }
    }

    /// Without S256 there is no browser sign-in; the server is still usable for what needs
    /// no authorization code (client credentials, device sign-ins).
    @Test(arguments: [nil, [], ["plain"]] as [[String]?])
    func withoutS256ThereIsNoBrowserSignIn(_ methods: [String]?) throws {
        let server = try MetadataValidation.validateAuthorizationServer(
            metadata(methods: methods), expectedIssuer: "https://as.example", policy: .strict)
        #expect(server.authorizationCodeRefusal == .pkceS256NotSupported(issuer: "https://as.example"))
    }

    @Test func aServerForClientCredentialsOnlyIsUsable() throws {
        var machines = metadata(methods: nil)
        machines.authorizationEndpoint = nil
        machines.responseTypesSupported = nil
        let server = try MetadataValidation.validateAuthorizationServer(machines, expectedIssuer: "https://as.example", policy: .strict)
        #expect(server.authorizationEndpoint == nil)
        #expect(server.authorizationCodeRefusal != nil)
        let browserCapable = try MetadataValidation.validateAuthorizationServer(metadata(), expectedIssuer: "https://as.example", policy: .strict)
        #expect(browserCapable.authorizationCodeRefusal == nil)
    }

    @Test func endpointsMustBeHTTPSUnlessLoopbackIsAllowed() throws {
        var insecure = metadata()
        insecure.tokenEndpoint = "http://as.example/token"
        #expect(throws: DiscoveryError.insecureEndpoint("token_endpoint", .plainHTTPOffLoopback(host: "as.example"))) {
            try MetadataValidation.validateAuthorizationServer(insecure, expectedIssuer: "https://as.example", policy: .loopbackHTTPAllowed)
        }
        var missing = metadata()
        missing.tokenEndpoint = nil
        #expect(throws: DiscoveryError.missingEndpoint("token_endpoint")) {
            try MetadataValidation.validateAuthorizationServer(missing, expectedIssuer: "https://as.example", policy: .strict)
        }
        var noAuthorization = metadata()
        noAuthorization.authorizationEndpoint = nil
        let withoutAuthorization = try MetadataValidation.validateAuthorizationServer(
            noAuthorization, expectedIssuer: "https://as.example", policy: .strict)
        #expect(withoutAuthorization.authorizationCodeRefusal == .missingEndpoint("authorization_endpoint"))
        var insecureAuthorization = metadata()
        insecureAuthorization.authorizationEndpoint = "http://as.example/authorize"
        #expect(throws: DiscoveryError.insecureEndpoint("authorization_endpoint", .plainHTTPOffLoopback(host: "as.example"))) {
            try MetadataValidation.validateAuthorizationServer(insecureAuthorization, expectedIssuer: "https://as.example", policy: .loopbackHTTPAllowed)
        }
    }

    @Test func metadataDecodesFromWhatTheMCPSDKSends() throws {
        let json = #"{"issuer":"http://127.0.0.1:9000","authorization_endpoint":"http://127.0.0.1:9000/authorize","token_endpoint":"http://127.0.0.1:9000/token","registration_endpoint":"http://127.0.0.1:9000/register","scopes_supported":["files:read","files:write"],"response_types_supported":["code"],"grant_types_supported":["authorization_code","refresh_token"],"token_endpoint_auth_methods_supported":["client_secret_post","client_secret_basic"],"revocation_endpoint":"http://127.0.0.1:9000/revoke","revocation_endpoint_auth_methods_supported":["client_secret_post","client_secret_basic"],"code_challenge_methods_supported":["S256"],"some_future_field":{"x":1}}"#
        let decoded = try JSONDecoder().decode(AuthorizationServerMetadata.self, from: Data(json.utf8))
        let validated = try MetadataValidation.validateAuthorizationServer(decoded, expectedIssuer: "http://127.0.0.1:9000", policy: .loopbackHTTPAllowed)
        #expect(validated.revocationEndpoint?.string == "http://127.0.0.1:9000/revoke")
        #expect(validated.registrationEndpoint != nil)
        #expect(throws: DiscoveryError.insecureEndpoint("issuer", .plainHTTPLoopbackNotAllowed(host: "127.0.0.1"))) {
            try MetadataValidation.validateAuthorizationServer(decoded, expectedIssuer: "http://127.0.0.1:9000", policy: .strict)
        }
    }
}

@Suite struct AuthorizationResponseTests {
    let state = AuthorizationState(value: "st4te")

    private func validate(_ query: String, issuer: String = "https://as.example", supported: Bool) throws(AuthorizationResponseError) -> String {
        try AuthorizationResponse.validate(query: query, expectedState: state, expectedIssuer: issuer, issParameterSupported: supported).exposedValue
    }

    /// RFC 9207 §2.4 as MCP tabulates it, plus the conformance iss-* scenarios.
    @Test func issTable() throws {
        #expect(try validate("code=c&state=st4te&iss=https%3A%2F%2Fas.example", supported: true) == "c")  // iss-supported
        #expect(try validate("code=c&state=st4te", supported: false) == "c")  // iss-not-advertised
        #expect(throws: AuthorizationResponseError.issuerMissing) { try validate("code=c&state=st4te", supported: true) }
        #expect(throws: AuthorizationResponseError.issuerMismatch) {  // iss-wrong-issuer
            try validate("code=c&state=st4te&iss=https%3A%2F%2Fevil.example.com", supported: true)
        }
        #expect(throws: AuthorizationResponseError.issuerMismatch) {  // iss-unexpected
            try validate("code=c&state=st4te&iss=https%3A%2F%2Fevil.example.com", supported: false)
        }
        #expect(throws: AuthorizationResponseError.issuerMismatch) {  // iss-normalized
            try validate("code=c&state=st4te&iss=https%3A%2F%2Fas.example%2F", supported: true)
        }
        #expect(throws: AuthorizationResponseError.issuerMismatch) {
            try validate("code=c&state=st4te&iss=HTTPS%3A%2F%2Fas.example", supported: true)
        }
        #expect(try validate("code=c&state=st4te&iss=https%3A%2F%2Fas.example", supported: false) == "c")
    }

    @Test func stateIsCheckedFirstAndErrorsOnlyAfterIss() {
        #expect(throws: AuthorizationResponseError.stateMismatch) { try validate("code=c&state=other", supported: false) }
        #expect(throws: AuthorizationResponseError.stateMismatch) { try validate("code=c", supported: false) }
        // A mix-up attacker's error text is never surfaced.
        #expect(throws: AuthorizationResponseError.issuerMismatch) {
            try validate("error=access_denied&error_description=call+me&state=st4te&iss=https%3A%2F%2Fevil", supported: false)
        }
        #expect(throws: AuthorizationResponseError.refused(error: "access_denied", description: "user said no")) {
            try validate("error=access_denied&error_description=user+said+no&state=st4te", supported: false)
        }
        #expect(throws: AuthorizationResponseError.missingCode) { try validate("state=st4te", supported: false) }
        #expect(throws: AuthorizationResponseError.duplicateParameter("code")) {
            try validate("code=a&code=b&state=st4te", supported: false)
        }
    }

    @Test func authorizationURLCarriesEveryRequiredParameterAndNoSecret() throws {
        let pkce = PKCE.generate()
        let request = AuthorizationRequest(
            authorizationEndpoint: try HTTPURL(parsing: "https://as.example/authorize?tenant=1"),
            clientID: "client 1", redirectURI: "http://127.0.0.1:53682/callback",
            scopes: try ScopeSet(parsing: "files:read files:write"),
            resource: try ResourceURI("https://rs.example/mcp", policy: .strict), state: state, pkce: pkce)
        let url = request.url
        #expect(url.hasPrefix("https://as.example/authorize?tenant=1&response_type=code&"))
        let query = Dictionary(uniqueKeysWithValues: FormURLEncoding.decode(String(url.split(separator: "?")[1])))
        #expect(query["client_id"] == "client 1")
        #expect(query["redirect_uri"] == "http://127.0.0.1:53682/callback")
        #expect(query["code_challenge"] == pkce.challenge)
        #expect(query["code_challenge_method"] == "S256")
        #expect(query["state"] == "st4te")
        #expect(query["scope"] == "files:read files:write")
        #expect(query["resource"] == "https://rs.example/mcp")
        #expect(!url.contains(pkce.verifier.exposedValue))

        var unscoped = request
        unscoped.scopes = []
        #expect(!unscoped.url.contains("scope="))
    }
}
