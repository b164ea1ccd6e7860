import Foundation
import Testing
import TokenBrokerTestKit
@testable import TokenBrokerServer

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
}
