import TokenBrokerClient
import TokenBrokerProtocol

#if canImport(Glibc)
import Glibc
#endif

/// `tokenbroker token`: what it asks for, and the call itself.
///
/// Scripts run `tokenbroker token` once per request, so it must start about as fast as
/// `/bin/true`. swift-argument-parser discovers a command's options by reflection, and in
/// a release build that costs about ten times the socket call (mostly protocol-conformance
/// lookups). So ``init(arguments:)`` recognises the plain shapes of this one command by
/// hand, and ``TokenBrokerCommand/main()`` runs them without the parser. Every other
/// command line, including each mistake and `--help`, goes to the full parser, which
/// accepts the same shapes (a test holds the two to the same reading) and explains errors.
struct TokenInvocation: Equatable {
    var resource: String
    var scopes: [String] = []
    var minValidSeconds: Int?
    var socket: String?

    init(resource: String, scopes: [String] = [], minValidSeconds: Int? = nil, socket: String? = nil) {
        self.resource = resource
        self.scopes = scopes
        self.minValidSeconds = minValidSeconds
        self.socket = socket
    }

    /// Reads `[--socket PATH] token RESOURCE [--scope S]… [--min-valid-seconds N] [--socket PATH]`
    /// (options in any order, `--name value` or `--name=value`, one `--socket` at most);
    /// `nil` for anything else, including a repeated single-valued option, an empty value or
    /// a value that starts with `-`.
    init?(arguments: some Sequence<String>) {
        var remaining = arguments.makeIterator()
        var socket: String?
        var command = remaining.next()
        if let first = command, first == "--socket" || first.hasPrefix("--socket=") {
            let value = first == "--socket" ? remaining.next() : String(first.dropFirst("--socket=".count))
            guard let value, !value.isEmpty, !value.hasPrefix("-") else { return nil }
            socket = value
            command = remaining.next()
        }
        guard command == "token" else { return nil }
        var resource: String?
        var scopes: [String] = []
        var minValidSeconds: Int?
        while let argument = remaining.next() {
            guard argument.hasPrefix("--") else {
                // A positional: the resource, once; a short option is for the full parser.
                guard resource == nil, !argument.isEmpty, !argument.hasPrefix("-") else { return nil }
                resource = argument
                continue
            }
            let name: Substring
            let value: String
            if let equals = argument.firstIndex(of: "=") {
                name = argument[..<equals]
                value = String(argument[argument.index(after: equals)...])
            } else {
                guard let next = remaining.next() else { return nil }
                name = argument[...]
                value = next
            }
            guard !value.isEmpty, !value.hasPrefix("-") else { return nil }
            switch name {
            case "--scope":
                scopes.append(value)
            case "--min-valid-seconds":
                guard minValidSeconds == nil, let seconds = Int(value) else { return nil }
                minValidSeconds = seconds
            case "--socket":
                guard socket == nil else { return nil }
                socket = value
            default:
                return nil
            }
        }
        guard let resource else { return nil }
        self.init(resource: resource, scopes: scopes, minValidSeconds: minValidSeconds, socket: socket)
    }

    /// Prints the access token and nothing else, or fails with one line and an exit status.
    func run() {
        let params = TokenGetParams(
            resource: resource, scopes: scopes,
            minValidSeconds: minValidSeconds ?? TokenGetParams.defaultMinValidSeconds, interactive: false,
            application: "tokenbroker token")
        do {
            let result: TokenGetResult = try GlobalOptions.client(socket: socket).callBlocking(
                JSONRPCRequest(id: 1, method: .tokenGet, params: params))
            print(result.accessToken.exposedValue)
        } catch .rpc(let error) where error.reason == .authorizationRequired {
            // The same scopes, or the sign-in would not be for what this token needs.
            let login = (["tokenbroker", "login", resource] + scopes.flatMap { ["--scope", $0] }).joined(separator: " ")
            writeStandardError("tokenbroker: signing in to \(resource) is needed; run: \(login)\n")
            Glibc.exit(ExitStatus.signInNeeded)
        } catch {
            fail(error)
        }
    }
}
