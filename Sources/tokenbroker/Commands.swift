import ArgumentParser
import Dispatch
import TokenBrokerClient
import TokenBrokerProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

// Every subcommand, each a short ArgumentParser struct: one file lists the whole CLI.
extension TokenBrokerCommand {
    struct Token: BrokerCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an access token for an MCP server, and nothing else.",
            discussion: """
                For scripts: curl -H "Authorization: Bearer $(tokenbroker token https://mcp.example.com/mcp)" …
                Never opens a browser; when a sign-in is needed it fails (exit 3) and says how to sign in.
                """)

        @OptionGroup var options: GlobalOptions
        @ParentCommand var root: TokenBrokerCommand
        @Argument(help: "The MCP server URL.") var resource: String
        @Option(name: .customLong("scope"), help: "A scope the token must have (repeatable).") var scopes: [String] = []
        @Option(help: "The token must stay valid this many seconds.") var minValidSeconds: Int?
        @Flag(help: "A token of exactly the --scope scopes, not the grant's wider set.") var exactScopes = false

        /// What the fast path would have read from the same command line.
        var invocation: TokenInvocation {
            TokenInvocation(
                resource: resource, scopes: scopes, minValidSeconds: minValidSeconds, socket: options.socket ?? root.options.socket,
                exactScopes: exactScopes)
        }

        func run() {
            invocation.run()
        }
    }

    struct Login: BrokerCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign in to an MCP server now, so clients find a token ready.",
            discussion: """
                Prints the sign-in URL while it waits, in case no browser opens.
                With a browser on another machine (over SSH), its return to this machine's \
                loopback address fails: with --paste (the default over SSH on a terminal), \
                paste the address it ended on, and the sign-in completes.
                """)

        @OptionGroup var options: GlobalOptions
        @ParentCommand var root: TokenBrokerCommand
        @Argument(help: "The MCP server URL.") var resource: String
        @Option(name: .customLong("scope"), help: "A scope to ask for (repeatable).") var scopes: [String] = []
        @Option(help: "How long to wait for the sign-in, in seconds.") var wait: Int = 600
        @Flag(
            inversion: .prefixedNo,
            help: "Read the address the browser ended on from standard input (default: on over SSH, on a terminal).")
        var paste: Bool?
        @Flag(help: "Sign in on another device with a code (RFC 8628), when the server offers it.")
        var device = false

        /// What the person is told to do: open a URL, or, for a device sign-in, type a
        /// code at a URL on any device.
        static func instructions(for pending: AuthorizationPendingParams) -> String {
            guard let device = pending.device else {
                return "Sign in to \(pending.resource) in your browser:\n  \(pending.authorizationURL)\n"
            }
            var text = "Sign in to \(pending.resource) on any device: open\n  \(device.verificationURI)\nand enter the code\n  \(device.userCode)\n"
            if let complete = device.verificationURIComplete {
                text += "(or open \(complete), which holds the code)\n"
            }
            return text
        }

        /// The verification URI (the complete one, which holds the code, when offered) as a
        /// QR code for a phone's camera: only when it fits a terminal of `columns` by
        /// `rows` next to the instructions; `nil` for a browser sign-in or a URI too long.
        static func qrCode(for pending: AuthorizationPendingParams, columns: Int, rows: Int) -> [String]? {
            guard let device = pending.device, let code = QRCode(encoding: device.verificationURIComplete ?? device.verificationURI)
            else { return nil }
            let lines = code.terminalLines()
            guard let width = lines.first?.count, width <= columns, lines.count + 6 <= rows else { return nil }
            return lines
        }

        /// Standard error's terminal size, or `nil` when it is no terminal.
        static func terminalSize() -> (columns: Int, rows: Int)? {
            guard isatty(STDERR_FILENO) == 1 else { return nil }
            var size = winsize()
            guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return nil }
            return (Int(size.ws_col), Int(size.ws_row))
        }

        /// Over SSH the browser is most likely on the person's own machine. Only from a
        /// terminal, though: a script's piped input is not the person's to take.
        static func pastesByDefault(overSSH: Bool, inputIsTerminal: Bool) -> Bool {
            overSSH && inputIsTerminal
        }

        func run() throws {
            let params = TokenGetParams(
                resource: resource, scopes: scopes, interactive: true, waitSeconds: wait, application: "tokenbroker login",
                flow: device ? .device : nil)
            // A device sign-in has nothing to paste back.
            let pasting =
                !device && paste
                ?? Self.pastesByDefault(
                    overSSH: ["SSH_CONNECTION", "SSH_TTY"].contains(where: { (name: String) in getenv(name) != nil }),
                    inputIsTerminal: isatty(STDIN_FILENO) == 1)
            let pastes = pasting ? PastedRedirects(client: client) : nil
            // On a terminal, a line that counts the wait; in a pipe, only the URL. Not while
            // the person pastes: redrawing the line would wipe what they typed.
            let progress = isatty(STDERR_FILENO) == 1 && !pasting ? WaitingIndicator() : nil
            do {
                let result: TokenGetResult
                do {
                    defer { progress?.finish() }
                    result = try client.callBlocking(
                        JSONRPCRequest(id: 1, method: .tokenGet, params: params),
                        onAuthorizationPending: { pending in
                            progress?.finish()  // a second sign-in (a step-up) gets lines of its own
                            writeStandardError(Self.instructions(for: pending))
                            if let (columns, rows) = Self.terminalSize(),
                                let code = Self.qrCode(for: pending, columns: columns, rows: rows)
                            {
                                writeStandardError("or scan it:\n" + code.joined(separator: "\n") + "\n")
                            }
                            if pending.device == nil { pastes?.start() }
                            progress?.start()
                        },
                        whileWaiting: progress.map { indicator in { indicator.tick() } })
                }
                let scopes = result.scopes.isEmpty ? "no particular scope" : result.scopes.joined(separator: " ")
                print("Signed in to \(result.resource) at \(result.issuer) (\(scopes)).")
            } catch {
                fail(error)
            }
        }
    }

    struct Revoke: BrokerCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a grant at its authorization server and forget its tokens.")

        @OptionGroup var options: GlobalOptions
        @ParentCommand var root: TokenBrokerCommand
        @Argument(help: "The MCP server URL.") var resource: String?
        @Flag(help: "Revoke every grant.") var all = false

        func validate() throws {
            guard (resource == nil) != !all else {
                throw ValidationError("give either a resource URL or --all")
            }
        }

        func run() throws {
            let params: GrantsRevokeParams = all ? .all : .resource(resource!)
            do {
                let result: GrantsRevokeResult = try client.callBlocking(
                    JSONRPCRequest(id: 1, method: .grantsRevoke, params: params))
                if result.revoked.isEmpty { print("Nothing to revoke.") }
                for grant in result.revoked {
                    switch grant.remote {
                    case .revoked: print("Revoked \(grant.resource).")
                    case .unsupported: print("Forgot the tokens of \(grant.resource) (its server offers no revocation).")
                    default: print("Forgot the tokens of \(grant.resource); the server could not revoke them (\(grant.remote)).")
                    }
                }
            } catch {
                fail(error)
            }
        }
    }

    struct Status: BrokerCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show every grant: scopes requested and granted, token expiry, sign-ins waiting.")

        @OptionGroup var options: GlobalOptions
        @ParentCommand var root: TokenBrokerCommand
        @Flag(help: "Print the daemon's JSON (grants/list) for scripts, as one document.") var json = false

        /// Pages through `grants/list` and prints each page as it arrives, so thousands of
        /// grants start printing at once and no answer nears the line limit.
        func run() throws {
            do {
                var cursor: String?
                var printed = 0
                var notes: [String] = []
                if json { print(#"{"grants":["#, terminator: "") }
                repeat {
                    let page: GrantsListResult = try client.callBlocking(JSONRPCRequest(
                        id: 1, method: .grantsList, params: GrantsListParams(limit: GrantsListParams.maximumLimit, cursor: cursor)))
                    if json {
                        let items = page.grants.map(\.jsonValue.serializedString).joined(separator: ",")
                        print((printed > 0 && !items.isEmpty ? "," : "") + items, terminator: "")
                    } else if !page.grants.isEmpty {
                        let (table, pageNotes) = StatusTable.renderPage(page.grants, now: Date(), header: printed == 0)
                        print(table, terminator: "")
                        notes += pageNotes
                    }
                    printed += page.grants.count
                    cursor = page.nextCursor
                } while cursor != nil
                if json {
                    print(#"],"nextCursor":null}"#)
                } else if printed == 0 {
                    print(StatusTable.empty, terminator: "")
                } else {
                    print(notes.map { $0 + "\n" }.joined(), terminator: "")
                }
            } catch {
                fail(error)
            }
        }
    }

    struct Audit: BrokerCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which local programs got which tokens, and when.")

        @OptionGroup var options: GlobalOptions
        @ParentCommand var root: TokenBrokerCommand
        @Option(help: "How many entries, newest first.") var limit: Int = AuditListParams.defaultLimit
        @Flag(help: "Print JSON for scripts.") var json = false

        func run() throws {
            do {
                let value: JSONValue = try client.callBlocking(
                    JSONRPCRequest(id: 1, method: .auditList, params: AuditListParams(limit: limit)))
                if json {
                    print(value.serializedString)
                    return
                }
                let entries = try decoded { () throws(WireFormatError) in try AuditListResult(jsonValue: value).entries }
                print(StatusTable.renderAudit(entries), terminator: "")
            } catch {
                fail(error)
            }
        }
    }
}

/// Reads a result, reporting a malformed one as the daemon's protocol error.
func decoded<Value>(_ read: () throws(WireFormatError) -> Value) throws(BrokerClientError) -> Value {
    do {
        return try read()
    } catch {
        throw .protocolViolation("\(error)")
    }
}

/// `login --paste`: reads the addresses the person pastes and hands each to the daemon
/// (`authorization/complete`) on a connection of its own, while the main one waits.
final class PastedRedirects {
    private let client: BrokerClient
    private var started = false  // touched only from the main thread's pending callback

    init(client: BrokerClient) {
        self.client = client
    }

    /// Prompts, then reads lines until standard input ends; the process exits when the
    /// waiting call returns, reader or not.
    func start() {
        writeStandardError(
            "If the browser ends on a page that does not load (http://127.0.0.1:…), paste its address here and press Enter.\n")
        guard !started else { return }
        started = true
        let client = client
        DispatchQueue(label: "tokenbroker.paste").async {
            while let line = readLine() {
                // An address has no spaces; a paste may bring some, or a wrapped line's breaks.
                let address = String(line.filter { !$0.isWhitespace })
                guard !address.isEmpty else { continue }
                do throws(BrokerClientError) {
                    let _: AuthorizationCompleteResult = try client.callBlocking(
                        JSONRPCRequest(
                            id: 1, method: .authorizationComplete, params: AuthorizationCompleteParams(redirectURL: address)))
                    // The waiting call reports the sign-in; go on reading in case a second one follows.
                } catch {
                    writeStandardError("tokenbroker: \(error.description)\n")
                }
            }
        }
    }
}

extension TokenBrokerCommand {
    struct Headers: BrokerCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print {\"Authorization\":\"Bearer …\"} for an MCP server: Claude Code's headersHelper.",
            discussion: """
                In Claude Code's MCP config: "headersHelper": "tokenbroker headers" (the URL then comes \
                from CLAUDE_CODE_MCP_SERVER_URL). When a sign-in is needed it opens the browser and \
                waits up to --wait seconds, then fails (exit 3) saying how to sign in. On any failure, \
                one line on stderr and nothing on stdout.
                """)

        @OptionGroup var options: GlobalOptions
        @ParentCommand var root: TokenBrokerCommand
        @Argument(help: "The MCP server URL (default: $CLAUDE_CODE_MCP_SERVER_URL).") var resource: String?
        @Option(name: .customLong("scope"), help: "A scope the token must have (repeatable).") var scopes: [String] = []
        @Option(help: "The token must stay valid this many seconds.") var minValidSeconds: Int?
        @Option(help: "How long to wait for a sign-in, in seconds (default 8, inside Claude Code's 10 s).") var wait: Int?
        @Flag(help: "A token of exactly the --scope scopes, not the grant's wider set.") var exactScopes = false

        /// What the fast path would have read from the same command line.
        var invocation: TokenInvocation {
            TokenInvocation(
                output: .headers, resource: resource, scopes: scopes, minValidSeconds: minValidSeconds, waitSeconds: wait,
                socket: options.socket ?? root.options.socket, exactScopes: exactScopes)
        }

        func run() {
            invocation.run()
        }
    }

    struct Proxy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Relay a stdio MCP host to a remote MCP server, with tokens from tokenbrokerd.",
            discussion: """
                tokenbroker proxy URL [--scope S]… [--header 'Name: value']… [--transport auto|streamable-http|sse]
                Runs tokenbroker-proxy, installed next to tokenbroker; `tokenbroker proxy --help` lists its options.
                """)

        @ParentCommand var root: TokenBrokerCommand
        @Argument(parsing: .captureForPassthrough, help: "The proxy's arguments.") var arguments: [String] = []

        func run() {
            ProxyInvocation(arguments: arguments, socket: root.options.socket).exec()
        }
    }
}

/// `tokenbroker proxy …` runs the `tokenbroker-proxy` executable next to this one, so the
/// HTTP stack it needs stays out of the `tokenbroker` that scripts start for every token.
struct ProxyInvocation: Equatable {
    /// The proxy's arguments, a `--socket` given before `proxy` first (a later one wins).
    var arguments: [String]

    init(arguments: [String], socket: String?) {
        self.arguments = (socket.map { ["--socket", $0] } ?? []) + arguments
    }

    /// Reads `[--socket PATH] proxy ARGUMENTS…`; `nil` for other commands.
    init?(arguments: some Sequence<String>) {
        var remaining = Array(arguments)[...]
        var socket: String?
        if let first = remaining.first, first == "--socket" || first.hasPrefix("--socket=") {
            remaining = remaining.dropFirst()
            if first == "--socket" {
                guard let value = remaining.first else { return nil }
                socket = value
                remaining = remaining.dropFirst()
            } else {
                socket = String(first.dropFirst("--socket=".count))
            }
        }
        guard remaining.first == "proxy" else { return nil }
        self.init(arguments: Array(remaining.dropFirst()), socket: socket)
    }

    /// Where to look: beside this executable (its resolved path, then the path it was run
    /// by, a symlink's folder), else on `PATH`.
    static var candidates: [String] {
        var candidates: [String] = []
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if count > 0 {
            candidates.append(String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        candidates.append(CommandLine.arguments[0])
        return candidates.compactMap { path in
            path.lastIndex(of: "/").map { String(path[...$0]) + executableName }
        }
    }

    static let executableName = "tokenbroker-proxy"

    /// Replaces this process with the proxy; returns only to exit with an error.
    func exec() -> Never {
        let argv = ([Self.executableName] + arguments).map { strdup($0) } + [nil]
        for path in Self.candidates { execv(path, argv) }
        execvp(Self.executableName, argv)
        writeStandardError(
            "tokenbroker: cannot run \(Self.executableName) (\(String(cString: strerror(errno)))); it is built and installed next to tokenbroker\n")
        Glibc.exit(ExitStatus.failure)
    }
}
