internal import Foundation
internal import Logging
internal import TokenBrokerCore
internal import TokenBrokerProtocol

/// What discovery found for a resource: validated metadata plus the raw documents to store.
struct DiscoveredResource: Sendable {
    var protectedResource: ValidatedProtectedResource
    var authorizationServer: ValidatedAuthorizationServer
    var protectedResourceJSON: Data
    var authorizationServerJSON: Data

    var scopeSources: ScopeSources {
        ScopeSources(
            protectedResourceScopes: protectedResource.scopesSupported,
            authorizationServerScopes: authorizationServer.scopesSupported)
    }
}

/// RFC 9728 + RFC 8414/OIDC discovery in MCP's order, with every validation the spec
/// requires before anything is sent to an authorization server.
struct Discovery: Sendable {
    let http: OAuthHTTPClient
    let logger: Logger

    /// Discovers the resource server at `resourceURL`.
    ///
    /// - Parameter challengeMetadataURL: `resource_metadata` from a challenge, tried first.
    func discover(resourceURL: HTTPURL, challengeMetadataURL: String?) async throws(BrokerFailure) -> DiscoveredResource {
        var challengeURL: HTTPURL?
        if let challengeMetadataURL {
            do {
                let parsed = try HTTPURL(parsing: challengeMetadataURL)
                try http.policy.check(parsed)
                challengeURL = parsed
            } catch {
                // A bad header URL is skipped, not fatal: the well-known URLs may still work.
                logger.info("ignoring unusable resource_metadata URL", metadata: ["error": "\(error)"])
            }
        }

        var firstError: BrokerFailure?
        var protectedResource: (ValidatedProtectedResource, Data)?
        // Any document rules out taking it for a 2025-03-26 server (a 5xx has thrown already).
        var documentFound = false
        for candidate in DiscoveryURLs.protectedResourceMetadata(for: resourceURL, challengeURL: challengeURL) {
            let answer = try await http.get(candidate.url, for: resourceURL)
            guard answer.status == 200 else { continue }
            documentFound = true
            do {
                let metadata = try JSONDecoder().decode(ProtectedResourceMetadata.self, from: answer.body)
                let validated = try MetadataValidation.validateProtectedResource(
                    metadata, serverURL: resourceURL, policy: http.policy)
                protectedResource = (validated, answer.body)
                break
            } catch let error as DiscoveryError {
                firstError = firstError ?? .discovery("\(error)")
            } catch {
                firstError = firstError ?? .discovery("the protected resource metadata at \(candidate.url.origin + candidate.url.path) is not valid JSON metadata")
            }
        }
        let legacy = protectedResource == nil && !documentFound
        if legacy {
            // No document anywhere: a server of the 2025-03-26 revision (LegacyDiscovery).
            let metadata = LegacyDiscovery.protectedResourceMetadata(for: resourceURL)
            if let validated = try? MetadataValidation.validateProtectedResource(metadata, serverURL: resourceURL, policy: http.policy),
                let json = try? JSONEncoder().encode(metadata)
            {
                logger.info("no protected resource metadata: the authorization server is the server's origin (MCP 2025-03-26)",
                    metadata: ["resource": "\(resourceURL.origin + resourceURL.path)"])
                protectedResource = (validated, json)
            }
        }
        guard let (validatedResource, resourceJSON) = protectedResource else {
            throw firstError ?? .discovery("no protected resource metadata found for \(resourceURL.origin + resourceURL.path) (tried the challenge's URL and the well-known locations)")
        }

        var serverError: BrokerFailure?
        for issuer in validatedResource.authorizationServers {
            do {
                let (server, json) = try await discoverAuthorizationServer(issuer: issuer, for: resourceURL, defaultEndpoints: legacy)
                return DiscoveredResource(
                    protectedResource: validatedResource, authorizationServer: server,
                    protectedResourceJSON: resourceJSON, authorizationServerJSON: json)
            } catch {
                if error.reason == .upstreamUnavailable { throw error }
                serverError = serverError ?? error
            }
        }
        throw serverError ?? .discovery("no usable authorization server")
    }

    /// Fetches and validates the metadata of `issuer` (named by `resource`'s metadata),
    /// trying MCP's candidate URLs in order. With `defaultEndpoints` (a 2025-03-26
    /// server), an issuer that publishes no metadata at all gets the default endpoints.
    func discoverAuthorizationServer(
        issuer: String, for resource: HTTPURL, defaultEndpoints: Bool = false
    ) async throws(BrokerFailure) -> (ValidatedAuthorizationServer, Data) {
        let issuerURL: HTTPURL
        do {
            issuerURL = try HTTPURL(parsing: issuer)
        } catch {
            throw .discovery("the authorization server identifier \(issuer.prefix(200)) \(error)")
        }
        var firstError: BrokerFailure?
        var documentFound = false
        for url in DiscoveryURLs.authorizationServerMetadata(forIssuer: issuerURL) {
            let answer = try await http.get(url, for: resource)
            guard answer.status == 200 else { continue }
            documentFound = true
            do {
                let metadata = try JSONDecoder().decode(AuthorizationServerMetadata.self, from: answer.body)
                let validated = try MetadataValidation.validateAuthorizationServer(
                    metadata, expectedIssuer: issuer, policy: http.policy)
                return (validated, answer.body)
            } catch let error as DiscoveryError {
                firstError = firstError ?? .discovery("\(error)")
            } catch {
                firstError = firstError ?? .discovery("the authorization server metadata at \(url.origin + url.path) is not valid JSON metadata")
            }
        }
        if defaultEndpoints, !documentFound {
            let metadata = LegacyDiscovery.authorizationServerMetadata(origin: issuer)
            if let validated = try? MetadataValidation.validateAuthorizationServer(metadata, expectedIssuer: issuer, policy: http.policy),
                let json = try? JSONEncoder().encode(metadata)
            {
                logger.info("no authorization server metadata: using the default endpoints (MCP 2025-03-26)", metadata: ["issuer": "\(issuer)"])
                return (validated, json)
            }
        }
        throw firstError ?? .discovery("no authorization server metadata found for \(issuer.prefix(200))")
    }
}
