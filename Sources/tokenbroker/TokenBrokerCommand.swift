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
        subcommands: [Status.self, Login.self, Token.self, Revoke.self, Audit.self],
        defaultSubcommand: Status.self)
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(help: "The daemon's socket (default: as tokenbrokerd resolves it).")
    var socket: String?

    var client: BrokerClient {
        let environment = ProcessEnvironment.current
        let path = BrokerPaths.socket(flag: socket, environment: environment, userID: getuid()).path
        return BrokerClient(socketPath: path, application: "tokenbroker")
    }
}

/// Exit statuses, distinct per kind of failure so scripts can tell them apart.
enum ExitStatus {
    static let failure: Int32 = 1
    static let daemonNotRunning: Int32 = 2
    static let signInNeeded: Int32 = 3
    static let invalidInput: Int32 = 4
    static let serverProblem: Int32 = 5
}

/// Prints `error` as one line on stderr and exits with its status.
func fail(_ error: BrokerClientError) -> Never {
    writeStandardError("tokenbroker: \(error.description)\n")
    let status: Int32
    switch error {
    case .daemonNotRunning: status = ExitStatus.daemonNotRunning
    case .rpc(let rpc):
        switch rpc.reason {
        case .authorizationRequired, .authorizationFailed: status = ExitStatus.signInNeeded
        case .invalidParams: status = ExitStatus.invalidInput
        case .discoveryFailed, .upstreamUnavailable, .scopeUnattainable: status = ExitStatus.serverProblem
        default: status = ExitStatus.failure
        }
    default: status = ExitStatus.failure
    }
    Glibc.exit(status)
}

func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// The environment, read without Foundation (keeps `tokenbroker token` starting fast).
enum ProcessEnvironment {
    static var current: [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
