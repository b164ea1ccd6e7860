/// Where to look for metadata, in the order MCP requires.
package enum DiscoveryURLs {
    /// How many of a resource's `authorization_servers` are tried, in its order. MCP lets
    /// the client choose; a hostile document naming thousands must not keep the daemon
    /// fetching for minutes (each costs up to three metadata requests).
    package static let maximumAuthorizationServersTried = 3

    /// Where a protected resource metadata URL came from; decides how its `resource` is checked.
    package enum ProtectedResourceSource: Equatable, Sendable {
        /// The `resource_metadata` parameter of a challenge.
        case challenge
        /// `/.well-known/oauth-protected-resource` inserted before the resource's path.
        case pathAware
        /// `/.well-known/oauth-protected-resource` at the origin.
        case root
    }

    /// A protected resource metadata URL to try, with where it came from.
    package struct ProtectedResourceCandidate: Equatable, Sendable {
        /// The URL to fetch.
        package var url: HTTPURL
        /// How it was found.
        package var source: ProtectedResourceSource
    }

    /// Protected resource metadata candidates (RFC 9728 §3.1, MCP): the challenge's
    /// `resource_metadata` URL when there is one, then the path-aware well-known URL,
    /// then the root well-known URL.
    ///
    /// - Parameters:
    ///   - resourceURL: the MCP server URL exactly as the client uses it (its path is
    ///     kept as given: some servers publish `/.well-known/…/mcp/` with the slash).
    ///   - challengeURL: `resource_metadata` from a `WWW-Authenticate` challenge, already parsed.
    package static func protectedResourceMetadata(for resourceURL: HTTPURL, challengeURL: HTTPURL?)
        -> [ProtectedResourceCandidate]
    {
        var candidates: [ProtectedResourceCandidate] = []
        if let challengeURL {
            candidates.append(.init(url: challengeURL, source: .challenge))
        }
        let wellKnown = "/.well-known/oauth-protected-resource"
        // RFC 9728 §3.1: a path of only "/" is removed before inserting the well-known part.
        if !resourceURL.path.isEmpty, resourceURL.path != "/" {
            let pathAware = HTTPURL(
                scheme: resourceURL.scheme, host: resourceURL.host, port: resourceURL.port,
                path: wellKnown + resourceURL.path, query: resourceURL.query, fragment: nil)
            candidates.append(.init(url: pathAware, source: .pathAware))
        }
        let root = resourceURL.replacingPath(wellKnown)
        candidates.append(.init(url: root, source: .root))
        return candidates.reduce(into: []) { unique, candidate in
            if !unique.contains(where: { $0.url == candidate.url }) { unique.append(candidate) }
        }
    }

    /// Authorization server metadata candidates for `issuer`, in MCP's order.
    ///
    /// With a path (`https://as.example/tenant1`): RFC 8414 path insertion, OIDC path
    /// insertion, OIDC path appending. Without a path: RFC 8414, then OIDC. The root
    /// well-known URL is never tried for an issuer with a path: it belongs to another
    /// issuer on the same host.
    package static func authorizationServerMetadata(forIssuer issuer: HTTPURL) -> [HTTPURL] {
        var path = Substring(issuer.path)
        if path.last == "/" { path = path.dropLast() }
        let oauth = "/.well-known/oauth-authorization-server"
        let openID = "/.well-known/openid-configuration"
        if path.isEmpty {
            return [issuer.replacingPath(oauth), issuer.replacingPath(openID)]
        }
        return [
            issuer.replacingPath(oauth + path),
            issuer.replacingPath(openID + path),
            issuer.replacingPath(path + openID),
        ]
    }
}

/// Discovery for servers of MCP's 2025-03-26 revision, which publish no protected
/// resource metadata: their authorization server is their own origin, whose metadata is
/// at the origin's RFC 8414 well-known URL, else at the default endpoints `/authorize`,
/// `/token` and `/register`.
///
/// Only where every protected resource metadata location answered without a document:
/// a document that exists and fails validation is refused, never replaced by this.
/// Nothing crosses the origin the client named, so this adds no server to trust.
package enum LegacyDiscovery {
    /// The protected resource metadata a 2025-03-26 server implies: itself, protected by
    /// its origin.
    package static func protectedResourceMetadata(for resourceURL: HTTPURL) -> ProtectedResourceMetadata {
        ProtectedResourceMetadata(resource: resourceURL.string, authorizationServers: [resourceURL.origin])
    }

    /// The metadata of an authorization server at `origin` that publishes none: the
    /// default endpoints (2025-03-26 §2.3.3). PKCE S256 is what the broker sends anyway.
    package static func authorizationServerMetadata(origin: String) -> AuthorizationServerMetadata {
        AuthorizationServerMetadata(
            issuer: origin, authorizationEndpoint: origin + "/authorize", tokenEndpoint: origin + "/token",
            registrationEndpoint: origin + "/register", codeChallengeMethodsSupported: ["S256"])
    }
}
