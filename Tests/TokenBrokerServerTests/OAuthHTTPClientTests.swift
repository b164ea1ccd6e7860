import Testing
import TokenBrokerCore
@testable import TokenBrokerServer

/// The HTTP client connects only where the validated URL says: a string another parser
/// reads as a different host or port is refused.
@Suite struct OAuthHTTPClientTests {
    @Test(arguments: [
        ("https://as.example/token", "https://as.example/token", true),
        ("https://as.example:8443/token", "https://as.example:8443/token", true),
        ("http://[::1]:8080/token", "http://[::1]:8080/token", true),
        ("https://AS.example/token", "https://as.example/token", true),
        ("https://as.example/token", "https://evil.example/token", false),
        ("https://as.example/token", "https://as.example:444/token", false),
        ("https://as.example/token", "http://as.example/token", false),
        ("https://as.example/token", "not a url at all", false),
    ])
    func theClientReachesTheValidatedHost(validated: String, sent: String, agrees: Bool) throws {
        #expect(OAuthHTTPClient.connectsTo(try HTTPURL(parsing: validated), sent) == agrees)
    }
}
