internal import Foundation
#if canImport(Glibc)
internal import Glibc
#endif
package import TokenBrokerCore

/// The optional TOML config file (see the contract): every daemon flag, plus
/// pre-registered clients and the Client ID Metadata Document URL.
package struct ConfigFile: Sendable, Equatable {
    package var socket: String?
    package var database: String?
    /// `key_file`: the key that seals the database's secrets.
    package var keyFile: String?
    package var browserCommand: [String]?
    package var allowHTTPLoopback: Bool?
    package var logLevel: String?
    package var callbackPort: Int?
    /// `private_hosts`: hosts metadata may point to however private their addresses
    /// (``TransportPolicy/privateHostExceptions``).
    package var privateHosts: [String] = []
    package var clients: [PreregisteredClient] = []
    package var metadataDocumentClientID: String?

    /// An empty configuration (no file).
    package init() {}

    /// Reads `path`; a missing file is an empty configuration unless `required`.
    package static func load(path: String, required: Bool) throws(ConfigFileError) -> ConfigFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            if required || FileManager.default.fileExists(atPath: path) {
                throw ConfigFileError("cannot read the config file \(path)")
            }
            return ConfigFile()
        }
        // Far more than any config; a file that large is not one.
        guard data.count <= 1 << 20 else { throw ConfigFileError("\(path) is larger than 1 MiB; it is not a tokenbroker config file") }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ConfigFileError("\(path) is not UTF-8 text, which TOML requires")
        }
        let config = try parse(text, origin: path)
        // As ssh refuses a private key others can read: a client secret in a file that
        // group or others can read is not used.
        if config.clients.contains(where: { $0.credentials.clientSecret != nil }) {
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
                throw ConfigFileError(
                    "\(path) holds a client_secret but group or others can read it (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)")
            }
        }
        return config
    }

    /// Parses TOML text; `origin` names it in errors.
    package static func parse(_ text: String, origin: String) throws(ConfigFileError) -> ConfigFile {
        let table: TOML.Table
        do {
            table = try TOML.parse(text)
        } catch {
            throw ConfigFileError("\(origin): \(error)")
        }
        var config = ConfigFile()
        for (key, value) in table {
            switch key {
            case "socket": config.socket = try string(value, key, origin)
            case "database": config.database = try string(value, key, origin)
            case "key_file": config.keyFile = try string(value, key, origin)
            case "log_level": config.logLevel = try string(value, key, origin)
            case "allow_http_loopback":
                guard let flag = value.bool else { throw ConfigFileError("\(origin): allow_http_loopback must be true or false") }
                config.allowHTTPLoopback = flag
            case "callback_port":
                guard let port = value.int, (0...65535).contains(port) else {
                    throw ConfigFileError("\(origin): callback_port must be a port number")
                }
                config.callbackPort = port
            case "private_hosts":
                guard let array = value.array else {
                    throw ConfigFileError("\(origin): private_hosts must be an array of host names, e.g. [\"idp.corp.example\"]")
                }
                config.privateHosts = try array.map { (item) throws(ConfigFileError) in
                    let host = try string(item, key, origin)
                    // A bare host: a URL here would silently match nothing.
                    let addressLiteral = host.hasPrefix("[") && host.hasSuffix("]")
                    guard !host.isEmpty, addressLiteral || !host.contains(where: { "/:@?#[] ".contains($0) }) else {
                        throw ConfigFileError("\(origin): private_hosts entries are host names or addresses, not URLs: \"\(host)\"")
                    }
                    return host.lowercased()
                }
            case "browser_command":
                guard let array = value.array, !array.isEmpty else {
                    throw ConfigFileError("\(origin): browser_command must be a non-empty array of strings, e.g. [\"firefox\", \"--new-window\"]")
                }
                config.browserCommand = try array.map { (item) throws(ConfigFileError) in try string(item, key, origin) }
            case "client":
                guard let array = value.array else { throw ConfigFileError("\(origin): [[client]] must be an array of tables") }
                for item in array {
                    guard let client = item.table else { throw ConfigFileError("\(origin): each [[client]] must be a table") }
                    config.clients.append(try preregisteredClient(client, origin))
                }
            case "client_metadata":
                guard let metadata = value.table, let clientID = metadata["client_id"]?.string else {
                    throw ConfigFileError("\(origin): [client_metadata] needs client_id")
                }
                guard ClientIdentityChoice.isValidMetadataDocumentClientID(clientID) else {
                    throw ConfigFileError("\(origin): client_metadata.client_id must be an https URL with a path")
                }
                config.metadataDocumentClientID = clientID
            default:
                throw ConfigFileError("\(origin): unknown setting \"\(key)\"")
            }
        }
        return config
    }

    private static func preregisteredClient(_ table: TOML.Table, _ origin: String) throws(ConfigFileError) -> PreregisteredClient {
        guard let issuer = table["issuer"]?.string, let clientID = table["client_id"]?.string else {
            throw ConfigFileError("\(origin): each [[client]] needs issuer and client_id")
        }
        let known: Set = [
            "issuer", "client_id", "client_secret", "token_endpoint_auth_method", "grant_type", "private_key_file",
            "signing_algorithm", "key_id", "resources",
        ]
        if let unknown = table.keys.first(where: { !known.contains($0) }) {
            throw ConfigFileError("\(origin): [[client]] for \(issuer): unknown setting \"\(unknown)\"")
        }
        let secret = table["client_secret"]?.string
        let keyFile = table["private_key_file"]?.string
        var method: ClientAuthenticationMethod = keyFile != nil ? .privateKeyJWT : secret == nil ? .none : .clientSecretBasic
        if let text = table["token_endpoint_auth_method"]?.string {
            guard let parsed = ClientAuthenticationMethod(rawValue: text) else {
                throw ConfigFileError(
                    "\(origin): token_endpoint_auth_method must be none, client_secret_basic, client_secret_post or private_key_jwt")
            }
            method = parsed
        }
        var grantType = ClientGrantType.authorizationCode
        if let text = table["grant_type"]?.string {
            guard let parsed = ClientGrantType(rawValue: text) else {
                throw ConfigFileError("\(origin): grant_type must be authorization_code or client_credentials")
            }
            grantType = parsed
        }
        var resources: [ResourceURI] = []
        if let value = table["resources"] {
            guard let array = value.array else {
                throw ConfigFileError("\(origin): resources must be an array of MCP server URLs")
            }
            resources = try array.map { (item) throws(ConfigFileError) in
                let text = try string(item, "resources", origin)
                guard let resource = try? ResourceURI(text, policy: .loopbackHTTPAllowed) else {
                    throw ConfigFileError("\(origin): \"\(text)\" in resources is not an MCP server URL")
                }
                return resource
            }
        }
        let credentials: ClientCredentials
        switch method {
        case .privateKeyJWT:
            guard let keyFile else {
                throw ConfigFileError("\(origin): [[client]] \(clientID) uses private_key_jwt but names no private_key_file")
            }
            var algorithm: ClientSigningKey.Algorithm?
            if let text = table["signing_algorithm"]?.string {
                guard let parsed = ClientSigningKey.Algorithm(rawValue: text) else {
                    throw ConfigFileError("\(origin): signing_algorithm must be ES256 or RS256")
                }
                algorithm = parsed
            }
            let key = try signingKey(file: keyFile, algorithm: algorithm, origin)
            credentials = ClientCredentials(
                clientID: clientID, assertionKey: ClientAssertionKey(key: key, keyID: table["key_id"]?.string, audience: issuer))
        case .clientSecretBasic, .clientSecretPost:
            guard let secret else {
                throw ConfigFileError("\(origin): [[client]] \(clientID) uses \(method.rawValue) but has no client_secret")
            }
            credentials = ClientCredentials(clientID: clientID, clientSecret: Secret(secret), authenticationMethod: method)
        case .none:
            credentials = ClientCredentials(clientID: clientID)
        }
        if grantType == .clientCredentials, credentials.authenticationMethod == .none {
            throw ConfigFileError(
                "\(origin): [[client]] \(clientID) uses client_credentials, which needs a client_secret or a private_key_file")
        }
        return PreregisteredClient(issuer: issuer, credentials: credentials, grantType: grantType, resources: resources)
    }

    /// Reads a client's private key; as ssh refuses a private key others can read, one that
    /// group or others can read is not used. A relative path is relative to the config file.
    private static func signingKey(file: String, algorithm: ClientSigningKey.Algorithm?, _ origin: String) throws(ConfigFileError)
        -> ClientSigningKey
    {
        let path = file.hasPrefix("/") ? file : (origin as NSString).deletingLastPathComponent + "/" + file
        var info = stat()
        // A regular file of key size: not a FIFO or /dev/zero, which a read would never finish.
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size <= 64 * 1024 else {
            throw ConfigFileError("\(origin): the private_key_file \(path) is not a readable key file")
        }
        if info.st_mode & 0o077 != 0 {
            throw ConfigFileError(
                "\(path) is a private key but group or others can read it (mode \(String(info.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigFileError("\(origin): cannot read the private_key_file \(path)")
        }
        do {
            return try ClientSigningKey(pem: String(decoding: data, as: UTF8.self), algorithm: algorithm)
        } catch {
            throw ConfigFileError("\(origin): private_key_file \(path): \(error)")
        }
    }

    private static func string(_ value: TOML.Value, _ key: String, _ origin: String) throws(ConfigFileError) -> String {
        guard let text = value.string else { throw ConfigFileError("\(origin): \(key) must be a string") }
        return text
    }
}

/// A config file that cannot be used; the message names the file and the setting.
package struct ConfigFileError: Error, Sendable, CustomStringConvertible {
    package var description: String

    init(_ description: String) {
        self.description = description
    }
}
