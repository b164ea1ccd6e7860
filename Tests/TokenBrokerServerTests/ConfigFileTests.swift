import Crypto
import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerTestKit
import TokenBrokerConfig

/// A client secret in a config file others can read is refused, as ssh refuses a
/// readable private key; without a secret the mode does not matter.
@Suite struct ConfigFileTests {
    static let withSecret = """
        [[client]]
        issuer = "https://as.example"
        client_id = "tokenbroker"
        client_secret = "s3cret-value"
        """
    static let withoutSecret = """
        [[client]]
        issuer = "https://as.example"
        client_id = "tokenbroker"
        """

    /// `private_hosts` takes host names and bracketed address literals, not URLs.
    @Test(arguments: [
        (#"private_hosts = ["IdP.corp.example", "10.0.0.7", "[fd00::7]"]"#, ["idp.corp.example", "10.0.0.7", "[fd00::7]"]),
        (#"private_hosts = ["https://idp.corp.example"]"#, nil),
        (#"private_hosts = ["idp.corp.example:8443"]"#, nil),
        (#"private_hosts = "idp.corp.example""#, nil),
    ])
    func privateHosts(text: String, expected: [String]?) {
        do {
            let config = try ConfigFile.parse(text, origin: "config.toml")
            #expect(config.privateHosts == expected)
        } catch {
            #expect(expected == nil)
            #expect(error.description.contains("private_hosts"))
        }
    }

    @Test(arguments: [
        (withSecret, 0o644, false), (withSecret, 0o640, false), (withSecret, 0o604, false), (withSecret, 0o600, true),
        (withSecret, 0o400, true), (withoutSecret, 0o644, true),
    ])
    func readableSecretsAreRefused(text: String, mode: Int, accepted: Bool) throws {
        let directory = try TemporaryDirectory()
        // Its deinit removes it: alive until the test ends, not just until its last use.
        defer { withExtendedLifetime(directory) {} }
        let path = directory.path + "/config.toml"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode_t(mode))
        do {
            let config = try ConfigFile.load(path: path, required: true)
            #expect(accepted)
            #expect(config.clients.count == 1)
        } catch {
            #expect(!accepted)
            #expect(error.description.contains("chmod 600 \(path)"))
            #expect(!error.description.contains("s3cret"))
        }
    }

    /// Client credentials entries: a secret or a key, the resources they are for, and a
    /// clear error for each mistake.
    @Test(arguments: [
        ("grant_type = \"client_credentials\"\nclient_secret = \"s\"", nil),
        ("grant_type = \"client_credentials\"", "needs a client_secret or a private_key_file"),
        ("grant_type = \"password\"\nclient_secret = \"s\"", "grant_type must be"),
        ("token_endpoint_auth_method = \"client_secret_post\"", "has no client_secret"),
        ("token_endpoint_auth_method = \"private_key_jwt\"", "names no private_key_file"),
        ("client_secret = \"s\"\nresources = [\"not a url\"]", "is not an MCP server URL"),
        ("client_secret = \"s\"\nclient_secert = \"typo\"", "unknown setting \"client_secert\""),
    ])
    func clientCredentialsEntries(extra: String, error expected: String?) {
        let text = "[[client]]\nissuer = \"https://as.example\"\nclient_id = \"ci\"\n" + extra
        do {
            let config = try ConfigFile.parse(text, origin: "config.toml")
            #expect(expected == nil)
            #expect(config.clients.only?.grantType == .clientCredentials)
            #expect(config.clients.only?.credentials.authenticationMethod == .clientSecretBasic)
        } catch {
            #expect(expected.map { error.description.contains($0) } == true, "\(error)")
        }
    }

    /// private_key_jwt: the key file is read (relative to the config file) and must be
    /// readable by its owner only; the resources restrict the client.
    @Test(arguments: [0o600, 0o644])
    func aKeyFile(mode: Int) throws {
        let directory = try TemporaryDirectory()
        defer { withExtendedLifetime(directory) {} }
        let key = P256.Signing.PrivateKey()
        try key.pemRepresentation.write(toFile: directory.path + "/ci.pem", atomically: false, encoding: .utf8)
        chmod(directory.path + "/ci.pem", mode_t(mode))
        let text = """
            [[client]]
            issuer = "https://as.example"
            client_id = "ci"
            grant_type = "client_credentials"
            private_key_file = "ci.pem"
            key_id = "k1"
            resources = ["https://mcp.example.com/mcp"]
            """
        do {
            let config = try ConfigFile.parse(text, origin: directory.path + "/config.toml")
            #expect(mode == 0o600)
            let client = try #require(config.clients.only)
            #expect(client.credentials.authenticationMethod == .privateKeyJWT)
            #expect(client.credentials.assertionKey?.key.publicKeyDER == key.publicKey.derRepresentation)
            #expect(client.credentials.assertionKey?.audience == "https://as.example")
            #expect(client.credentials.assertionKey?.keyID == "k1")
            let mcp = try ResourceURI("https://mcp.example.com/mcp", policy: .strict)
            let other = try ResourceURI("https://other.example.com/mcp", policy: .strict)
            #expect(config.clients.client(for: mcp, at: "https://as.example") != nil)
            #expect(config.clients.client(for: other, at: "https://as.example") == nil)
        } catch {
            #expect(mode != 0o600)
            #expect("\(error)".contains("chmod 600"))
        }
    }

    /// A control character is a clear error, not an abort: toml++ (in TOMLKit, which the
    /// daemon used before) asserted on this input (found by the config fuzz target; the
    /// input is in Fuzz/corpus/config).
    @Test func controlCharactersAreRefused() {
        let text = "[\u{01}\u{00}[client]]\nissuer = \"https://as\"\nclient_id = \"c\"\n"
        #expect(throws: ConfigFileError.self) { try ConfigFile.parse(text, origin: "config.toml") }
        do {
            _ = try ConfigFile.parse("a = 1\nb = \"x\u{7F}\"\n", origin: "config.toml")
            Issue.record("DEL was accepted")
        } catch {
            #expect(error.description == "config.toml: line 2: a string holds a control character")
        }
        #expect(throws: Never.self) { try ConfigFile.parse("log_level = \"info\"\t# tab\r\n", origin: "config.toml") }
        // A table header whose name does not start as a key: toml++ asserted on it too.
        do {
            _ = try ConfigFile.parse("log_level = \"info\"\n[`client_metadata]\nclient_id = \"x\"\n", origin: "config.toml")
            Issue.record("a header without a name was accepted")
        } catch {
            #expect(error.description == "config.toml: line 2: a key was expected, not \"`\"")
        }
        #expect(throws: Never.self) {
            try ConfigFile.parse("browser_command = [\n  \"firefox\",\n]\n [ \"client_metadata\" ]\nclient_id = \"https://example.com/c.json\"\n", origin: "config.toml")
        }
    }
}
