import Foundation
import TokenBrokerConfig
import TokenBrokerCore
import TokenBrokerProtocol

/// One parser of outside bytes each, with the properties that must hold for any input
/// besides not crashing. A property that fails traps, which libFuzzer reports as a crash.
enum FuzzTarget: String, CaseIterable {
    /// A `WWW-Authenticate` value from an MCP server.
    case wwwAuthenticate = "www-authenticate"
    /// A line a local client sends on the socket.
    case clientMessage = "client-message"
    /// The socket's byte stream, cut into lines (the input's first byte picks the chunking).
    case lineFramer = "line-framer"
    /// Protected resource metadata (RFC 9728), decoded and validated.
    case protectedResourceMetadata = "prm"
    /// Authorization server metadata (RFC 8414), decoded and validated.
    case authorizationServerMetadata = "as-metadata"
    /// A token endpoint answer (the input's first byte picks the HTTP status).
    case tokenResponse = "token-response"
    /// A resource URL from a client, and URLs from metadata.
    case urls
    /// The loopback callback's query (or a pasted address's).
    case callbackQuery = "callback-query"
    /// A device authorization response (RFC 8628).
    case deviceAuthorization = "device-authorization"
    /// A dynamic registration response (RFC 7591).
    case registrationResponse = "registration-response"
    /// The TOML config file (key files named in it are looked for where none exist).
    case config

    static let serverURL = try! HTTPURL(parsing: "https://mcp.example.com/mcp")
    static let serverResource = try! ResourceURI("https://mcp.example.com/mcp", policy: .strict)
    static let issuer = "https://auth.example.com"

    func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let data = Data(bytes)
        switch self {
        case .wwwAuthenticate:
            if let challenge = try? WWWAuthenticate.bearerChallenge(in: text) {
                // Whatever it names is a valid scope set (RFC 6749 §3.3) or nothing.
                if let scopes = challenge.scope { precondition(scopes.strings.allSatisfy { !$0.isEmpty && !$0.contains(" ") }) }
            }
        case .clientMessage:
            _ = ClientMessage(line: bytes)
        case .lineFramer:
            guard let first = bytes.first else { return }
            var framer = LineFramer(maximumLineLength: 64)
            let chunkSize = Int(first % 16) + 1
            var lines: [[UInt8]] = []
            var oversized = false
            var rest = bytes.dropFirst()
            while !rest.isEmpty, !oversized {
                for event in framer.append(rest.prefix(chunkSize)) {
                    switch event {
                    case .line(let line):
                        precondition(!line.isEmpty && line.count <= 64 && !line.contains(10))
                        lines.append(line)
                    case .oversizedLine:
                        oversized = true
                    }
                }
                rest = rest.dropFirst(chunkSize)
            }
            // Chunking does not change the lines: the same bytes in one piece give the same.
            if !oversized {
                var whole = LineFramer(maximumLineLength: 64)
                let once = whole.append(bytes.dropFirst()).compactMap { event -> [UInt8]? in
                    if case .line(let line) = event { return line }
                    return nil
                }
                precondition(once == lines, "the lines depend on how the bytes were cut")
            }
        case .protectedResourceMetadata:
            guard let metadata = try? JSONDecoder().decode(ProtectedResourceMetadata.self, from: data) else { return }
            if let valid = try? MetadataValidation.validateProtectedResource(metadata, serverURL: Self.serverURL, policy: .strict) {
                precondition(valid.resource.covers(Self.serverResource))
            }
        case .authorizationServerMetadata:
            guard let metadata = try? JSONDecoder().decode(AuthorizationServerMetadata.self, from: data) else { return }
            if let valid = try? MetadataValidation.validateAuthorizationServer(metadata, expectedIssuer: Self.issuer, policy: .strict) {
                precondition(valid.tokenEndpoint.scheme == "https" && (valid.authorizationEndpoint?.scheme ?? "https") == "https")
                // A browser sign-in is allowed only with PKCE S256 and an authorization endpoint.
                if valid.authorizationCodeRefusal == nil {
                    precondition(metadata.codeChallengeMethodsSupported?.contains("S256") == true && valid.authorizationEndpoint != nil)
                }
            }
        case .tokenResponse:
            guard let first = bytes.first else { return }
            let status = [200, 400, 401, 403, 500][Int(first) % 5]
            _ = try? TokenEndpointAnswer(status: status, body: Data(bytes.dropFirst()))
            _ = OAuthErrorResponse.decode(Data(bytes.dropFirst()))
        case .urls:
            if let resource = try? ResourceURI(text, policy: .strict) {
                // The canonical form is stable: parsing it again gives itself.
                let again = try? ResourceURI(resource.string, policy: .strict)
                precondition(again == resource, "a canonical resource URI is not canonical")
                precondition(resource.covers(resource))
            }
            _ = try? HTTPURL(parsing: text)
        case .callbackQuery:
            let state = AuthorizationState(value: "state-value")
            if let code = try? AuthorizationResponse.validate(
                query: text, expectedState: state, expectedIssuer: Self.issuer, issParameterSupported: true)
            {
                precondition(!code.exposedValue.isEmpty)
            }
        case .deviceAuthorization:
            if let response = try? DeviceAuthorizationResponse.decode(data, policy: .strict) {
                precondition(DeviceAuthorization.intervalRange.contains(response.interval))
                precondition((1...DeviceAuthorization.maximumLifetime).contains(response.expiresIn))
            }
        case .registrationResponse:
            _ = try? JSONDecoder().decode(ClientRegistrationResponse.self, from: data)
        case .config:
            do {
                let config = try ConfigFile.parse(text, origin: "/nonexistent-tokenbroker-fuzz/config.toml")
                _ = config.clients.count
                if let port = config.callbackPort { precondition((0...65535).contains(port)) }
            } catch {
                precondition(!error.description.isEmpty)
            }
        }
    }
}
