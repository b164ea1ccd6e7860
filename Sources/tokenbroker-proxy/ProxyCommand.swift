import ArgumentParser
import TokenBrokerBridge
import TokenBrokerClient
import TokenBrokerProtocol

#if canImport(Glibc)
import Glibc
#endif

/// `tokenbroker proxy` (run as `tokenbroker-proxy` by `tokenbroker`, or directly).
@main
struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenbroker proxy",
        abstract: "Run a stdio MCP server that relays to a remote MCP server, with tokens from tokenbrokerd.",
        discussion: """
            For MCP hosts that start a command for each server (Claude Desktop, Cursor, VS Code, Zed, \
            Goose, …): configure the command `tokenbroker proxy https://mcp.example.com/mcp`. Every \
            request carries the daemon's token; on 401 or 403 the daemon refreshes or signs in again \
            for the scopes asked so far plus the missing ones, and the request is sent once more. \
            Several hosts share one grant and one sign-in. Messages go through unchanged; logs and \
            the sign-in URL go to stderr. See docs/hosts.md.
            """)

    @Argument(help: "The remote MCP server's URL.") var url: String
    @Option(name: .customLong("scope"), help: "A scope every token must have (repeatable).") var scopes: [String] = []
    @Option(name: .customLong("header"), help: "A header for every request, 'Name: value' (repeatable).")
    var headers: [String] = []
    @Option(help: "auto (Streamable HTTP, then HTTP+SSE for old servers), streamable-http, or sse.")
    var transport: Bridge.Transport = .auto
    @Option(help: "The daemon's socket (default: as tokenbrokerd resolves it).") var socket: String?

    func validate() throws {
        guard let parsed = HTTPHeaderLine.parse(headers) else {
            throw ValidationError("--header takes 'Name: value' with a token name and a value without line breaks")
        }
        if parsed.contains(where: { $0.name.lowercased() == "authorization" }) {
            throw ValidationError("--header cannot set Authorization: the token comes from tokenbrokerd")
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw ValidationError("the URL must start with https:// (or http:// for a loopback server)")
        }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)  // a host that goes away ends us through stdin, not a signal
        let path = BrokerPaths.socket(flag: socket, environment: BrokerClient.socketEnvironment, userID: getuid()).path
        let bridge = Bridge(
            configuration: .init(
                url: url, scopes: scopes, headers: HTTPHeaderLine.parse(headers) ?? [], transport: transport,
                broker: BrokerClient(socketPath: path, application: "tokenbroker proxy")))
        await bridge.run()
    }
}

extension Bridge.Transport: ExpressibleByArgument {}

/// `--header 'Name: value'` lines.
enum HTTPHeaderLine {
    /// The headers, or `nil` when one is no valid header line.
    static func parse(_ lines: [String]) -> [(name: String, value: String)]? {
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingSpaces
            let tokenCharacters = Set("!#$%&'*+-.^_`|~".utf8)
            guard !name.isEmpty,
                name.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || tokenCharacters.contains($0) }),
                value.utf8.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) })
            else { return nil }
            headers.append((name, value))
        }
        return headers
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
