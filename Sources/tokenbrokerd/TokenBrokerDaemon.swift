import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TokenBrokerConfig
import TokenBrokerCore
import TokenBrokerProtocol
import TokenBrokerServer
import UnixSignals

/// `tokenbrokerd`: reads flags and the config file, then runs the broker until SIGTERM.
@main
struct TokenBrokerDaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenbrokerd",
        abstract: "The per-user OAuth token broker for MCP clients.",
        discussion: "Serves token requests on a Unix socket. Every flag can also be set in the config file.",
        version: TokenBrokerVersion.current)

    @Option(help: "The Unix socket to serve on.")
    var socket: String?

    @Option(help: "The SQLite database holding all OAuth state.")
    var database: String?

    @Option(help: "The TOML config file.")
    var config: String?

    @Option(help: ArgumentHelp(
        "The key file that seals the database's secrets; made (0600) on first start when missing.", valueName: "path"))
    var keyFile: String?

    @Flag(help: "Forget the tokens and client registrations the key does not open (the key was lost or replaced) instead of refusing to start; scope history stays.")
    var forgetUnopenableSecrets = false

    @Option(help: ArgumentHelp(
        "Program run, without a shell, with the sign-in URL as its last argument (words split on spaces).",
        valueName: "command"))
    var browserCommand: String?

    @Flag(help: "Accept plain http:// for resource and authorization servers on loopback addresses (development, tests).")
    var allowHTTPLoopback = false

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let home = environment["HOME"] ?? NSHomeDirectory()
        let configPath = BrokerPaths.config(flag: config, environment: environment, homeDirectory: home)
        let file: ConfigFile
        do {
            file = try ConfigFile.load(path: configPath.path, required: config != nil || environment["TOKENBROKER_CONFIG"] != nil)
        } catch {
            throw ValidationError(error.description)
        }

        let levelName = logLevel ?? file.logLevel ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        // Under systemd, stderr is the journal: priority prefixes instead of timestamps.
        let journal = JournalLogHandler.standardErrorIsJournal(environment: environment)
        LoggingSystem.bootstrap { label in
            if journal {
                var handler = JournalLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tokenbrokerd")

        // Where clients look too when their host passed no XDG_RUNTIME_DIR (BrokerClient.socketEnvironment).
        let socketEnvironment = BrokerPaths.fillingRuntimeDirectory(
            environment, with: BrokerPaths.loginRuntimeDirectory(userID: getuid()))
        let socketPath = BrokerPaths.socket(
            flag: socket ?? file.socket.map(expandTilde(home)), environment: socketEnvironment, userID: getuid())
        let databasePath = BrokerPaths.database(flag: database ?? file.database.map(expandTilde(home)), environment: environment, homeDirectory: home)

        let browser: BrowserLauncher
        if let browserCommand {
            browser = .command(browserCommand.split(separator: " ").map(String.init))
        } else if let command = file.browserCommand {
            browser = .command(command)
        } else {
            browser = .systemDefault(environment: environment)
        }

        let keyPath = BrokerPaths.key(
            flag: keyFile, configured: file.keyFile.map(expandTilde(home)), environment: environment, homeDirectory: home)

        let options = DaemonOptions(
            socketPath: socketPath.path, databasePath: databasePath.path, keyPath: keyPath.path,
            forgetUnopenableSecrets: forgetUnopenableSecrets,
            configuration: BrokerConfiguration(
                transportPolicy: TransportPolicy(
                    allowsHTTPLoopback: allowHTTPLoopback || file.allowHTTPLoopback == true,
                    privateHostExceptions: Set(file.privateHosts)),
                preregisteredClients: file.clients, metadataDocumentClientID: file.metadataDocumentClientID,
                browser: browser, preferredCallbackPort: file.callbackPort ?? 0),
            environment: environment, version: TokenBrokerVersion.current)
        let daemon = BrokerDaemon(options: options, logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [.init(service: daemon)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Requests in flight get this long to answer (a sign-in may be waiting); then they are cancelled.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(10)
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await group.run()
        } catch let error as BrokerDaemonError {
            logger.critical("\(error.description)")
            throw ExitCode.failure
        }
    }
}

private func expandTilde(_ home: String) -> (String) -> String {
    { path in path.hasPrefix("~/") ? home + path.dropFirst() : path }
}
