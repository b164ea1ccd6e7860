import Foundation
internal import GRDB
import TokenBrokerCore

// One row type per table: plain column values, converted to and from the public
// records here and nowhere else. Reading back checks what the schema cannot (a
// canonical resource URI, well-formed scopes) and reports the column, never the value.

struct AuthorizationServerRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "authorization_servers"

    var issuer: String
    var metadataJSON: String
    var fetchedAt: Int64

    enum CodingKeys: String, CodingKey {
        case issuer
        case metadataJSON = "metadata_json"
        case fetchedAt = "fetched_at"
    }

    init(_ record: StoredAuthorizationServer) {
        issuer = record.issuer
        metadataJSON = record.metadataJSON
        fetchedAt = record.fetchedAt.storedSeconds
    }

    func record() -> StoredAuthorizationServer {
        StoredAuthorizationServer(
            issuer: issuer, metadataJSON: metadataJSON, fetchedAt: Date(storedSeconds: fetchedAt))
    }
}

struct ClientRegistrationRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "client_registrations"

    var issuer: String
    var clientID: String
    var clientSecret: String?
    var tokenEndpointAuthMethod: String
    var redirectURI: String
    var source: String
    var registrationResponseJSON: String?
    var clientSecretExpiresAt: Int64?
    var createdAt: Int64

    enum CodingKeys: String, CodingKey {
        case issuer
        case clientID = "client_id"
        case clientSecret = "client_secret"
        case tokenEndpointAuthMethod = "token_endpoint_auth_method"
        case redirectURI = "redirect_uri"
        case source
        case registrationResponseJSON = "registration_response_json"
        case clientSecretExpiresAt = "client_secret_expires_at"
        case createdAt = "created_at"
    }

    init(_ record: StoredClientRegistration, _ sealer: SecretSealer) throws {
        issuer = record.issuer
        clientID = record.clientID
        clientSecret = try sealer.sealIfPresent(
            record.clientSecret?.exposedValue, .client("client_secret", issuer: record.issuer, clientID: record.clientID))
        tokenEndpointAuthMethod = record.tokenEndpointAuthMethod
        redirectURI = record.redirectURI
        source = record.source.rawValue
        registrationResponseJSON = try sealer.sealIfPresent(
            record.registrationResponse?.exposedValue,
            .client("registration_response_json", issuer: record.issuer, clientID: record.clientID))
        clientSecretExpiresAt = record.clientSecretExpiresAt?.storedSeconds
        createdAt = record.createdAt.storedSeconds
    }

    func record(_ sealer: SecretSealer) throws(StorageError) -> StoredClientRegistration {
        guard let source = ClientRegistrationSource(rawValue: source) else {
            throw .unreadable("client_registrations.source", "not a known registration source")
        }
        return StoredClientRegistration(
            issuer: issuer,
            clientID: clientID,
            clientSecret: try sealer.openIfPresent(
                clientSecret, .client("client_secret", issuer: issuer, clientID: clientID),
                column: "client_registrations.client_secret"
            ).map(Secret.init),
            tokenEndpointAuthMethod: tokenEndpointAuthMethod,
            redirectURI: redirectURI,
            source: source,
            registrationResponse: try sealer.openIfPresent(
                registrationResponseJSON, .client("registration_response_json", issuer: issuer, clientID: clientID),
                column: "client_registrations.registration_response_json"
            ).map(Secret.init),
            clientSecretExpiresAt: clientSecretExpiresAt.map(Date.init(storedSeconds:)),
            createdAt: Date(storedSeconds: createdAt))
    }
}

struct ResourceRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "resources"

    var resource: String
    var metadataJSON: String
    var issuer: String?
    var fetchedAt: Int64

    enum CodingKeys: String, CodingKey {
        case resource
        case metadataJSON = "metadata_json"
        case issuer
        case fetchedAt = "fetched_at"
    }

    init(_ record: StoredResource) {
        resource = record.resource.string
        metadataJSON = record.metadataJSON
        issuer = record.issuer
        fetchedAt = record.fetchedAt.storedSeconds
    }

    func record() throws(StorageError) -> StoredResource {
        StoredResource(
            resource: try readResourceURI(resource, column: "resources.resource"),
            metadataJSON: metadataJSON,
            issuer: issuer,
            fetchedAt: Date(storedSeconds: fetchedAt))
    }
}

struct GrantRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "grants"

    var resource: String
    var issuer: String
    var requestedScopes: String
    var grantedScopes: String
    var accessToken: String?
    var accessTokenExpiresAt: Int64?
    var refreshToken: String?
    var createdAt: Int64
    var updatedAt: Int64
    var clientID: String?

    enum CodingKeys: String, CodingKey {
        case resource
        case issuer
        case clientID = "client_id"
        case requestedScopes = "requested_scopes"
        case grantedScopes = "granted_scopes"
        case accessToken = "access_token"
        case accessTokenExpiresAt = "access_token_expires_at"
        case refreshToken = "refresh_token"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    init(_ grant: Grant, _ sealer: SecretSealer) throws {
        resource = grant.resource.string
        issuer = grant.issuer
        requestedScopes = grant.requestedScopes.spaceDelimited
        grantedScopes = grant.grantedScopes.spaceDelimited
        accessToken = try sealer.sealIfPresent(
            grant.accessToken?.exposedValue, .grant("access_token", resource: resource, issuer: issuer))
        accessTokenExpiresAt = grant.accessTokenExpiresAt?.storedSeconds
        refreshToken = try sealer.sealIfPresent(
            grant.refreshToken?.exposedValue, .grant("refresh_token", resource: resource, issuer: issuer))
        createdAt = grant.createdAt.storedSeconds
        updatedAt = grant.updatedAt.storedSeconds
        clientID = grant.clientID
    }

    func record(_ sealer: SecretSealer) throws(StorageError) -> Grant {
        Grant(
            resource: try readResourceURI(resource, column: "grants.resource"),
            issuer: issuer,
            requestedScopes: try readScopes(requestedScopes, column: "grants.requested_scopes"),
            grantedScopes: try readScopes(grantedScopes, column: "grants.granted_scopes"),
            accessToken: try sealer.openIfPresent(
                accessToken, .grant("access_token", resource: resource, issuer: issuer), column: "grants.access_token"
            ).map(Secret.init),
            accessTokenExpiresAt: accessTokenExpiresAt.map(Date.init(storedSeconds:)),
            refreshToken: try sealer.openIfPresent(
                refreshToken, .grant("refresh_token", resource: resource, issuer: issuer), column: "grants.refresh_token"
            ).map(Secret.init),
            createdAt: Date(storedSeconds: createdAt),
            updatedAt: Date(storedSeconds: updatedAt),
            clientID: clientID)
    }
}

struct StoredSignInRow: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "pending_authorizations"

    var state: String
    var resource: String
    var issuer: String
    var codeVerifier: String
    var redirectURI: String
    var requestedScopes: String
    var authorizationURL: String
    var startedAt: Int64
    var clientID: String?
    var deviceCode: String?
    var userCode: String?
    var verificationURI: String?
    var verificationURIComplete: String?
    var deviceExpiresAt: Int64?
    var deviceInterval: Int64?

    enum CodingKeys: String, CodingKey {
        case state
        case resource
        case issuer
        case codeVerifier = "code_verifier"
        case redirectURI = "redirect_uri"
        case requestedScopes = "requested_scopes"
        case authorizationURL = "authorization_url"
        case startedAt = "started_at"
        case clientID = "client_id"
        case deviceCode = "device_code"
        case userCode = "user_code"
        case verificationURI = "verification_uri"
        case verificationURIComplete = "verification_uri_complete"
        case deviceExpiresAt = "device_expires_at"
        case deviceInterval = "device_interval"
    }

    init(_ record: StoredSignIn, _ sealer: SecretSealer) throws {
        state = record.state
        resource = record.resource.string
        issuer = record.issuer
        // RFC 7636 §4.1; the schema cannot check a sealed value's length.
        guard (43...128).contains(record.codeVerifier.exposedValue.utf8.count) else {
            throw StorageError(.constraintViolation, "a PKCE code verifier must be 43 to 128 characters long")
        }
        codeVerifier = try sealer.seal(record.codeVerifier.exposedValue, .signIn(state: record.state))
        redirectURI = record.redirectURI
        requestedScopes = record.requestedScopes.spaceDelimited
        authorizationURL = record.authorizationURL
        startedAt = record.startedAt.storedSeconds
        clientID = record.clientID
        if let device = record.device {
            deviceCode = try sealer.seal(device.deviceCode.exposedValue, .deviceCode(state: record.state))
            userCode = device.userCode
            verificationURI = device.verificationURI
            verificationURIComplete = device.verificationURIComplete
            deviceExpiresAt = device.expiresAt.storedSeconds
            deviceInterval = Int64(device.interval)
        }
    }

    func record(_ sealer: SecretSealer) throws(StorageError) -> StoredSignIn {
        StoredSignIn(
            state: state,
            resource: try readResourceURI(resource, column: "pending_authorizations.resource"),
            issuer: issuer,
            codeVerifier: Secret(
                try sealer.open(codeVerifier, .signIn(state: state), column: "pending_authorizations.code_verifier")),
            redirectURI: redirectURI,
            requestedScopes: try readScopes(requestedScopes, column: "pending_authorizations.requested_scopes"),
            authorizationURL: authorizationURL,
            startedAt: Date(storedSeconds: startedAt),
            clientID: clientID,
            device: try storedDevice(sealer))
    }

    private func storedDevice(_ sealer: SecretSealer) throws(StorageError) -> StoredDeviceCode? {
        guard let deviceCode, let userCode, let verificationURI, let deviceExpiresAt, let deviceInterval else { return nil }
        return StoredDeviceCode(
            deviceCode: Secret(try sealer.open(deviceCode, .deviceCode(state: state), column: "pending_authorizations.device_code")),
            userCode: userCode, verificationURI: verificationURI, verificationURIComplete: verificationURIComplete,
            expiresAt: Date(storedSeconds: deviceExpiresAt), interval: Int(deviceInterval))
    }
}

struct AuditRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "audit_log"

    var id: Int64?
    var at: Int64
    var peerUID: Int64
    var peerPID: Int64
    var executable: String?
    var application: String?
    var method: String
    var resource: String?
    var scopes: String
    var outcome: String

    enum CodingKeys: String, CodingKey {
        case id
        case at
        case peerUID = "peer_uid"
        case peerPID = "peer_pid"
        case executable
        case application
        case method
        case resource
        case scopes
        case outcome
    }

    init(_ entry: AuditEntry) {
        id = entry.id
        at = entry.at.storedSeconds
        peerUID = Int64(entry.peerUID)
        peerPID = Int64(entry.peerPID)
        executable = entry.executable
        application = entry.application
        method = entry.method
        resource = entry.resource
        scopes = entry.scopes.spaceDelimited
        outcome = entry.outcome.rawValue
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    func record() throws(StorageError) -> AuditEntry {
        guard let peerUID = UInt32(exactly: peerUID), let peerPID = Int32(exactly: peerPID) else {
            throw .unreadable("audit_log.peer_uid or audit_log.peer_pid", "out of range")
        }
        return AuditEntry(
            id: id,
            at: Date(storedSeconds: at),
            peerUID: peerUID,
            peerPID: peerPID,
            executable: executable,
            application: application,
            method: method,
            resource: resource,
            scopes: try readScopes(scopes, column: "audit_log.scopes"),
            outcome: AuditOutcome(rawValue: outcome))
    }
}

func readResourceURI(_ text: String, column: String) throws(StorageError) -> ResourceURI {
    do {
        return try ResourceURI(storedCanonical: text)
    } catch {
        throw .unreadable(column, "not a valid resource URI")
    }
}

func readScopes(_ text: String, column: String) throws(StorageError) -> ScopeSet {
    do {
        return try ScopeSet(parsing: text)
    } catch {
        throw .unreadable(column, "not a space-delimited list of OAuth scopes")
    }
}
