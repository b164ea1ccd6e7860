import Testing
import TokenBrokerCore

@Suite struct ResourceURITests {
    @Test(arguments: [
        ("https://MCP.Example.COM/mcp", "https://mcp.example.com/mcp"),
        ("HTTPS://mcp.example.com:443/mcp/", "https://mcp.example.com/mcp"),
        ("https://mcp.example.com:8443/Server/MCP", "https://mcp.example.com:8443/Server/MCP"),
        ("https://mcp.example.com/", "https://mcp.example.com"),
        ("https://mcp.example.com", "https://mcp.example.com"),
        ("https://mcp.example.com/mcp?tenant=A", "https://mcp.example.com/mcp?tenant=A"),
        ("http://127.0.0.1:80/mcp/", "http://127.0.0.1/mcp"),
        ("http://[::1]:8080/mcp", "http://[::1]:8080/mcp"),
        ("http://LOCALHOST:3000/mcp", "http://localhost:3000/mcp"),
        ("https://a.example/p%2Fq", "https://a.example/p%2Fq"),
    ])
    func canonicalisation(_ input: String, _ canonical: String) throws {
        #expect(try ResourceURI(input, policy: .loopbackHTTPAllowed).string == canonical)
    }

    /// IPv6 literals are addresses, not any run of hex digits and colons.
    @Test(arguments: [
        ("https://[::1]/mcp", true), ("https://[2001:db8::1]:8443/mcp", true), ("https://[::ffff:127.0.0.1]/mcp", true),
        ("https://[1:2:3:4:5:6:7:8]/mcp", true), ("https://[::::]/mcp", false), ("https://[1:2:3:4:5:6:7:8:9]/mcp", false),
        ("https://[1::2::3]/mcp", false), ("https://[fe80::1%25eth0]/mcp", false), ("https://[12345::1]/mcp", false),
        ("https://[::1.2.3.256]/mcp", false), ("https://[]/mcp", false), ("https://[:1]/mcp", false),
    ])
    func ipv6Literals(url: String, valid: Bool) {
        #expect(((try? HTTPURL(parsing: url)) != nil) == valid, Comment(rawValue: url))
    }

    /// Dot-segments are resolved before anything compares paths: `/api/../admin` is
    /// `/admin`, which `/api` does not cover (RFC 3986 §5.2.4; `%2e` is a dot too).
    @Test(arguments: [
        ("https://a.example/api/../admin", "https://a.example/admin", false),
        ("https://a.example/api/%2e%2e/admin", "https://a.example/admin", false),
        ("https://a.example/api/%2E./admin", "https://a.example/admin", false),
        ("https://a.example/api/./files", "https://a.example/api/files", true),
        ("https://a.example/api/files/..", "https://a.example/api", true),
        ("https://a.example/../../api/x", "https://a.example/api/x", true),
        ("https://a.example/api/x/../../api/y", "https://a.example/api/y", true),
    ])
    func dotSegmentsAreResolved(url: String, canonical: String, coveredByAPI: Bool) throws {
        let resource = try ResourceURI(url, policy: .strict)
        #expect(resource.string == canonical)
        #expect(try ResourceURI("https://a.example/api", policy: .strict).covers(resource) == coveredByAPI)
    }

    @Test func trailingSlashAndRootFormsNameOneResource() throws {
        let a = try ResourceURI("https://x.example", policy: .strict)
        let b = try ResourceURI("https://x.example/", policy: .strict)
        #expect(a == b)
    }

    @Test(arguments: [
        ("mcp.example.com/mcp", ResourceURIError.invalidURL(.notAbsolute)),
        ("ftp://mcp.example.com/", .invalidURL(.unsupportedScheme("ftp"))),
        ("https://mcp.example.com/mcp#frag", .hasFragment),
        ("https://mcp.example.com/mcp#", .hasFragment),
        ("https://user:pw@mcp.example.com/", .invalidURL(.userInfoNotAllowed)),
        ("https:///mcp", .invalidURL(.missingHost)),
        ("https://mcp.example.com:99999/", .invalidURL(.invalidPort)),
        ("https://mcp.example.com:-1/", .invalidURL(.invalidPort)),
        ("https://mcp.exa mple.com/", .invalidURL(.invalidCharacter)),
        ("https://mcp.example.com/\u{E9}", .invalidURL(.invalidCharacter)),
        ("https://[zz]/", .invalidURL(.invalidHost)),
        ("", .invalidURL(.notAbsolute)),
        ("http://mcp.example.com/mcp", .transport(.plainHTTPOffLoopback(host: "mcp.example.com"))),
        ("http://10.0.0.1/mcp", .transport(.plainHTTPOffLoopback(host: "10.0.0.1"))),
        ("http://127.0.0.1.evil.example/", .transport(.plainHTTPOffLoopback(host: "127.0.0.1.evil.example"))),
    ])
    func invalidResources(_ input: String, _ expected: ResourceURIError) {
        #expect(throws: expected) { try ResourceURI(input, policy: .loopbackHTTPAllowed) }
    }

    @Test func plainHTTPOnLoopbackNeedsTheOptIn() throws {
        #expect(throws: ResourceURIError.transport(.plainHTTPLoopbackNotAllowed(host: "127.0.0.1"))) {
            try ResourceURI("http://127.0.0.1:8000/mcp", policy: .strict)
        }
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "[::1]"] {
            #expect(try ResourceURI("http://\(host):8000/mcp", policy: .loopbackHTTPAllowed).url.isLoopback)
        }
    }

    @Test func coveringIsByWholePathSegmentsOnTheSameOrigin() throws {
        func uri(_ text: String) throws -> ResourceURI { try ResourceURI(text, policy: .strict) }
        #expect(try uri("https://a.example/api").covers(uri("https://a.example/api/files/read")))
        #expect(try uri("https://a.example").covers(uri("https://a.example/mcp")))
        #expect(try uri("https://a.example/mcp").covers(uri("https://a.example/mcp/")))
        #expect(try !uri("https://a.example/api").covers(uri("https://a.example/apiary")))
        #expect(try !uri("https://a.example/api/files").covers(uri("https://a.example/api")))
        #expect(try !uri("https://a.example/api").covers(uri("https://b.example/api")))
        #expect(try !uri("https://a.example/api?x=1").covers(uri("https://a.example/api/files")))
    }

    @Test func errorMessagesSaySomethingActionable() {
        let message = ResourceURIError.transport(.plainHTTPLoopbackNotAllowed(host: "127.0.0.1")).description
        #expect(message.contains("--allow-http-loopback"))
    }
}

@Suite struct DiscoveryURLTests {
    private func url(_ text: String) throws -> HTTPURL { try HTTPURL(parsing: text) }

    @Test func protectedResourceOrderIsChallengeThenPathAwareThenRoot() throws {
        let candidates = DiscoveryURLs.protectedResourceMetadata(
            for: try url("https://rs.example/public/mcp"),
            challengeURL: try url("https://rs.example/custom/metadata/location.json"))
        #expect(candidates.map(\.url.string) == [
            "https://rs.example/custom/metadata/location.json",
            "https://rs.example/.well-known/oauth-protected-resource/public/mcp",
            "https://rs.example/.well-known/oauth-protected-resource",
        ])
        #expect(candidates.map(\.source) == [.challenge, .pathAware, .root])
    }

    @Test func pathAwareKeepsTheClientsPathAndQuery() throws {
        let candidates = DiscoveryURLs.protectedResourceMetadata(for: try url("http://p/mcp/?x=1"), challengeURL: nil)
        #expect(candidates.map(\.url.string) == [
            "http://p/.well-known/oauth-protected-resource/mcp/?x=1",
            "http://p/.well-known/oauth-protected-resource",
        ])
    }

    @Test func rootResourceHasOnlyTheRootCandidate() throws {
        for text in ["https://rs.example", "https://rs.example/"] {
            let candidates = DiscoveryURLs.protectedResourceMetadata(for: try url(text), challengeURL: nil)
            #expect(candidates.map(\.url.string) == ["https://rs.example/.well-known/oauth-protected-resource"])
        }
    }

    @Test func challengeURLEqualToAWellKnownOneIsTriedOnce() throws {
        let candidates = DiscoveryURLs.protectedResourceMetadata(
            for: try url("https://rs/mcp"), challengeURL: try url("https://rs/.well-known/oauth-protected-resource/mcp"))
        #expect(candidates.count == 2)
        #expect(candidates[0].source == .challenge)
    }

    @Test func issuerWithoutPath() throws {
        for issuer in ["https://as.example", "https://as.example/"] {
            #expect(DiscoveryURLs.authorizationServerMetadata(forIssuer: try url(issuer)).map(\.string) == [
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration",
            ])
        }
    }

    @Test func issuerWithPathNeverTriesTheRoot() throws {
        let candidates = DiscoveryURLs.authorizationServerMetadata(forIssuer: try url("https://as.example:8443/tenant1/"))
        #expect(candidates.map(\.string) == [
            "https://as.example:8443/.well-known/oauth-authorization-server/tenant1",
            "https://as.example:8443/.well-known/openid-configuration/tenant1",
            "https://as.example:8443/tenant1/.well-known/openid-configuration",
        ])
        #expect(!candidates.map(\.path).contains("/.well-known/oauth-authorization-server"))
    }
}
