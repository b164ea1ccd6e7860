import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TokenBrokerCore
import TokenBrokerStorage
import TokenBrokerTestKit

/// The databases every behaviour test runs against, like GRDB's own tests.
extension StorageKey {
    /// The key the storage tests seal with.
    static let testing = StorageKey(bytes: [UInt8](repeating: 7, count: StorageKey.byteCount))!
}

enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case inMemory
    case onDisk

    var testDescription: String { rawValue }

    /// Runs `body` with a fresh store of this kind, then closes it (and removes its files).
    func withStore<T>(_ body: (BrokerStore) async throws -> T) async throws -> T {
        switch self {
        case .inMemory:
            let store = try BrokerStore.inMemory(key: .testing)
            defer { try? store.close() }
            return try await body(store)
        case .onDisk:
            return try await withTemporaryDirectory { directory in
                let store = try BrokerStore.open(path: directory + "/state/tokenbroker/broker.sqlite3", key: .testing)
                defer { try? store.close() }
                return try await body(store)
            }
        }
    }
}

/// The permission bits of the file or directory at `path`.
func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return try #require(attributes[.posixPermissions] as? Int)
}

/// Values shared by the tests. Secret values are distinctive so that a test can
/// prove they do not leak into a description.
enum Fixture {
    static let resource = try! ResourceURI(storedCanonical: "https://mcp.example.com/mcp")
    static let otherResource = try! ResourceURI(storedCanonical: "https://files.example.org")
    static let issuer = "https://auth.example.com"
    static let otherIssuer = "https://login.example.net"

    /// A whole second, so that stored times compare equal.
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static let accessToken = Secret("SECRET-access-token-5b1f")
    static let refreshToken = Secret("SECRET-refresh-token-9c2e")
    static let clientSecret = Secret("SECRET-client-secret-77aa")
    static let codeVerifier = Secret("SECRET-verifier-" + String(repeating: "v", count: 40))
    static let allSecrets = [accessToken, refreshToken, clientSecret, codeVerifier].map(\.exposedValue)

    static func scopes(_ text: String) -> ScopeSet {
        try! ScopeSet(parsing: text)
    }

    static func authorizationServer(_ issuer: String = issuer, fetchedAt: Date = t0) -> StoredAuthorizationServer {
        StoredAuthorizationServer(
            issuer: issuer,
            metadataJSON: #"{"issuer":"\#(issuer)","token_endpoint":"\#(issuer)/token"}"#,
            fetchedAt: fetchedAt)
    }

    static func storedResource(_ resource: ResourceURI = resource, issuer: String? = issuer) -> StoredResource {
        StoredResource(
            resource: resource,
            metadataJSON: #"{"resource":"\#(resource.string)","authorization_servers":["\#(issuer ?? "")"]}"#,
            issuer: issuer,
            fetchedAt: t0)
    }

    static func grant(
        _ resource: ResourceURI = resource,
        issuer: String = issuer,
        requested: String = "files:read files:write",
        refreshToken: Secret? = refreshToken
    ) -> Grant {
        Grant(
            resource: resource,
            issuer: issuer,
            requestedScopes: scopes(requested),
            grantedScopes: scopes("files:read"),
            accessToken: accessToken,
            accessTokenExpiresAt: t0.addingTimeInterval(3600),
            refreshToken: refreshToken,
            createdAt: t0,
            updatedAt: t0.addingTimeInterval(10))
    }

    static func clientRegistration(_ issuer: String = issuer) -> StoredClientRegistration {
        StoredClientRegistration(
            issuer: issuer,
            clientID: "client-123",
            clientSecret: clientSecret,
            tokenEndpointAuthMethod: "client_secret_basic",
            redirectURI: "http://127.0.0.1/callback",
            source: .dynamic,
            registrationResponse: Secret(
                #"{"client_id":"client-123","client_secret":"\#(clientSecret.exposedValue)"}"#),
            clientSecretExpiresAt: t0.addingTimeInterval(86_400),
            createdAt: t0)
    }

    static func pending(
        state: String = "state-1", _ resource: ResourceURI = resource, startedAt: Date = t0
    ) -> StoredSignIn {
        StoredSignIn(
            state: state,
            resource: resource,
            issuer: issuer,
            codeVerifier: codeVerifier,
            redirectURI: "http://127.0.0.1:49152/callback",
            requestedScopes: scopes("files:write files:read"),
            authorizationURL: "https://auth.example.com/authorize?state=\(state)",
            startedAt: startedAt)
    }

    static func audit(at: Date = t0, outcome: AuditOutcome = .served, scopes: String = "files:read") -> AuditEntry {
        AuditEntry(
            at: at, peerUID: 1000, peerPID: 4242, executable: "/usr/bin/mcp-client", application: "editor",
            method: "token/get", resource: resource.string, scopes: Fixture.scopes(scopes), outcome: outcome)
    }

    /// Stores the authorization servers and resources the grants refer to.
    static func seed(_ store: BrokerStore) async throws {
        try await store.saveAuthorizationServer(authorizationServer(issuer))
        try await store.saveAuthorizationServer(authorizationServer(otherIssuer))
        try await store.saveResource(storedResource(resource))
        try await store.saveResource(storedResource(otherResource))
    }
}

/// Fails if any of `secrets` (by default the fixture's) appears in `text`.
///
/// The expectation is on a precomputed flag, so a failure reports that a secret
/// leaked without printing the text that holds it.
func expectNoSecret(
    _ text: String, among secrets: [String] = Fixture.allSecrets, sourceLocation: SourceLocation = #_sourceLocation
) {
    let leaked = secrets.contains { text.contains($0) }
    #expect(!leaked, "a secret appears in a description or error message", sourceLocation: sourceLocation)
}
