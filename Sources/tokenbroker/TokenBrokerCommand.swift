import ArgumentParser
import TokenBrokerClient
import TokenBrokerProtocol

#if canImport(Glibc)
import Glibc
#endif

/// `tokenbroker`: see and manage what the broker holds, and get tokens for scripts.
@main
struct TokenBrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenbroker",
        abstract: "See and manage the OAuth grants tokenbrokerd holds for your MCP servers.",
        version: TokenBrokerVersion.current,
        subcommands: [Status.self, Login.self, Token.self, Headers.self, Proxy.self, Revoke.self, Audit.self],
        defaultSubcommand: Status.self)

    /// `--socket` before the command (`tokenbroker --socket PATH status`) applies to it.
    @OptionGroup var options: GlobalOptions

    /// The plain shapes of `tokenbroker token` skip the argument parser (see ``TokenInvocation``).
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        if let invocation = TokenInvocation(arguments: arguments) {
            invocation.run()
            Glibc.exit(0)
        }
        if let proxy = ProxyInvocation(arguments: arguments) { proxy.exec() }
        main(nil)
    }
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(help: "The daemon's socket (default: as tokenbrokerd resolves it).")
    var socket: String?

    /// A client of the daemon at `socket`, or where the daemon resolves its socket.
    static func client(socket: String?) -> BrokerClient {
        // With --socket the environment is not read at all (`token` is timed per process).
        if let socket, !socket.isEmpty { return BrokerClient(socketPath: socket, application: "tokenbroker") }
        let path = BrokerPaths.socket(flag: nil, environment: BrokerClient.socketEnvironment, userID: getuid()).path
        return BrokerClient(socketPath: path, application: "tokenbroker")
    }
}

/// What every subcommand shares: its own `--socket`, and the one given before it.
protocol BrokerCommand: ParsableCommand {
    var options: GlobalOptions { get }
    var root: TokenBrokerCommand { get }
}

extension BrokerCommand {
    /// The client of the socket named after the command, else before it, else the default.
    var client: BrokerClient {
        GlobalOptions.client(socket: options.socket ?? root.options.socket)
    }
}

/// Exit statuses, distinct per kind of failure so scripts can tell them apart.
enum ExitStatus {
    static let failure: Int32 = 1
    static let daemonNotRunning: Int32 = 2
    static let signInNeeded: Int32 = 3
    static let invalidInput: Int32 = 4
    static let serverProblem: Int32 = 5
    static let usage: Int32 = 64
}

/// Prints `error` as one line on stderr and exits with its status.
func fail(_ error: BrokerClientError) -> Never {
    writeStandardError("tokenbroker: \(error.description)\n")
    let status: Int32
    if error.code == .daemonNotRunning {
        status = ExitStatus.daemonNotRunning
    } else {
        switch error.reason {
        case .authorizationRequired, .authorizationFailed: status = ExitStatus.signInNeeded
        case .invalidParams: status = ExitStatus.invalidInput
        case .discoveryFailed, .upstreamUnavailable, .scopeUnattainable: status = ExitStatus.serverProblem
        default: status = ExitStatus.failure
        }
    }
    Glibc.exit(status)
}

func writeStandardError(_ text: String) {
    writeAll(text, to: STDERR_FILENO)
}

/// Writes `text` to stdout with write(2), for `token` and `headers`: `print` looks up the
/// argument's protocol conformances at run time, a scan of every conformance in the
/// binary that each `tokenbroker token` paid once.
func writeStandardOutput(_ text: String) {
    writeAll(text, to: STDOUT_FILENO)
}

private func writeAll(_ text: String, to descriptor: Int32) {
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
        if result > 0 {
            written += result
        } else if result < 0, errno == EINTR {
            continue
        } else {
            return  // A closed pipe: nobody reads what is left.
        }
    }
}
