import TokenBrokerClient
import TokenBrokerProtocol

#if canImport(Glibc)
import Glibc
#endif

/// `tokenbroker token` and `tokenbroker headers`: what they ask for, and the call itself.
///
/// Scripts run `tokenbroker token` once per request, so it must start about as fast as
/// `/bin/true`. swift-argument-parser discovers a command's options by reflection, and in
/// a release build that costs about ten times the socket call (mostly protocol-conformance
/// lookups). So ``init(arguments:)`` recognises the plain shapes of this one command by
/// hand, and ``TokenBrokerCommand/main()`` runs them without the parser. Every other
/// command line, including each mistake and `--help`, goes to the full parser, which
/// accepts the same shapes (a test holds the two to the same reading) and explains errors.
struct TokenInvocation: Equatable {
    /// What to print.
    enum Output: String, Equatable {
        /// The bare access token (`tokenbroker token`).
        case token
        /// `{"Authorization":"Bearer …"}`, for Claude Code's `headersHelper` (`tokenbroker headers`).
        case headers
    }

    var output: Output = .token
    /// The MCP server; for `headers`, `nil` means `$CLAUDE_CODE_MCP_SERVER_URL`.
    var resource: String?
    var scopes: [String] = []
    var minValidSeconds: Int?
    /// `headers` only: how long to wait for a sign-in it starts.
    var waitSeconds: Int?
    var socket: String?
    /// `--exact-scopes`: the token carries exactly the `--scope`s (`token/get`'s `exactScopes`).
    var exactScopes = false

    /// `headers` waits this long for a sign-in by default: inside Claude Code's 10 s limit.
    static let defaultHeadersWaitSeconds = 8
    /// Where Claude Code puts the server's URL for its `headersHelper`.
    static let claudeCodeServerURLVariable = "CLAUDE_CODE_MCP_SERVER_URL"

    init(
        output: Output = .token, resource: String?, scopes: [String] = [], minValidSeconds: Int? = nil,
        waitSeconds: Int? = nil, socket: String? = nil, exactScopes: Bool = false
    ) {
        self.exactScopes = exactScopes
        self.output = output
        self.resource = resource
        self.scopes = scopes
        self.minValidSeconds = minValidSeconds
        self.waitSeconds = waitSeconds
        self.socket = socket
    }

    /// Reads `[--socket PATH] token RESOURCE [--scope S]… [--min-valid-seconds N] [--exact-scopes] [--socket PATH]`
    /// and `[--socket PATH] headers [RESOURCE] [--scope S]… [--min-valid-seconds N] [--wait N] [--exact-scopes] [--socket PATH]`
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
        guard let command, let output = Output(rawValue: command) else { return nil }
        var resource: String?
        var scopes: [String] = []
        var minValidSeconds: Int?
        var waitSeconds: Int?
        var exactScopes = false
        while let argument = remaining.next() {
            if argument == "--exact-scopes" {
                guard !exactScopes else { return nil }
                exactScopes = true
                continue
            }
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
            case "--wait" where output == .headers:
                guard waitSeconds == nil, let seconds = Int(value) else { return nil }
                waitSeconds = seconds
            case "--socket":
                guard socket == nil else { return nil }
                socket = value
            default:
                return nil
            }
        }
        guard resource != nil || output == .headers else { return nil }
        self.init(
            output: output, resource: resource, scopes: scopes, minValidSeconds: minValidSeconds, waitSeconds: waitSeconds,
            socket: socket, exactScopes: exactScopes)
    }

    /// Prints the access token (or the header object) and nothing else, or fails with one
    /// line on stderr, nothing on stdout, and an exit status.
    func run() {
        guard let resource = resource ?? getenv(Self.claudeCodeServerURLVariable).map({ String(cString: $0) }), !resource.isEmpty
        else {
            writeStandardError(
                "tokenbroker: give the MCP server URL (Claude Code sets \(Self.claudeCodeServerURLVariable) for its headersHelper)\n")
            Glibc.exit(ExitStatus.usage)
        }
        let waits = output == .headers
        let params = TokenGetParams(
            resource: resource, scopes: scopes,
            minValidSeconds: minValidSeconds ?? TokenGetParams.defaultMinValidSeconds, interactive: waits,
            waitSeconds: waitSeconds ?? Self.defaultHeadersWaitSeconds,
            application: waits ? "tokenbroker headers" : "tokenbroker token", exactScopes: exactScopes)
        let login = (["tokenbroker", "login", resource] + scopes.flatMap { ["--scope", $0] }).joined(separator: " ")
        do {
            let result: TokenGetResult = try GlobalOptions.client(socket: socket).callBlocking(
                JSONRPCRequest(id: 1, method: .tokenGet, params: params),
                onAuthorizationPending: { pending in
                    writeStandardError("tokenbroker: sign in to \(pending.resource) in your browser: \(pending.authorizationURL)\n")
                })
            switch output {
            case .token:
                writeStandardOutput(result.accessToken.exposedValue + "\n")
            case .headers:
                let headers: JSONValue = ["Authorization": .string("Bearer " + result.accessToken.exposedValue)]
                writeStandardOutput(headers.serializedString + "\n")
            }
        } catch let error where error.reason == .authorizationRequired {
            // The same scopes, or the sign-in would not be for what this token needs.
            writeStandardError("tokenbroker: signing in to \(resource) is needed; run: \(login)\n")
            Glibc.exit(ExitStatus.signInNeeded)
        } catch let error where error.reason == .authorizationFailed && waits {
            writeStandardError("tokenbroker: \(error.description); run: \(login)\n")
            Glibc.exit(ExitStatus.signInNeeded)
        } catch {
            fail(error)
        }
    }
}
