internal import AsyncHTTPClient
internal import CTokenBrokerSystem
package import Foundation
package import Logging
internal import ServiceLifecycle
internal import NIOCore
internal import TokenBrokerCore
internal import TokenBrokerProtocol
package import TokenBrokerStorage

#if canImport(Glibc)
internal import Glibc
#endif

/// Where the daemon lives and how it behaves.
package struct DaemonOptions: Sendable {
    /// The socket path to bind (ignored when systemd passes a socket).
    package var socketPath: String
    /// The SQLite database path.
    package var databasePath: String
    /// The key file that seals the database's secrets (``BrokerPaths/key(flag:configured:environment:homeDirectory:)``);
    /// created when missing, unless the database holds secrets sealed already.
    package var keyPath: String
    /// Forget the secrets the key does not open (another key sealed them, or the key is
    /// lost) instead of refusing to start; scope history stays.
    package var forgetUnopenableSecrets: Bool
    /// Broker behaviour.
    package var configuration: BrokerConfiguration
    /// The process environment (socket activation, `NOTIFY_SOCKET`).
    package var environment: [String: String]
    /// The daemon's version, for `broker/info`.
    package var version: String
    /// The most client connections open at once; `nil`: from the open-file limit
    /// (``ConnectionLimiter/capacity(forDescriptorLimit:)``).
    package var maximumConnections: Int?
    /// How the loopback callback guards itself.
    package var callbackPolicy: CallbackPolicy

    /// Creates options.
    package init(
        socketPath: String, databasePath: String, keyPath: String, forgetUnopenableSecrets: Bool = false,
        configuration: BrokerConfiguration, environment: [String: String],
        version: String, maximumConnections: Int? = nil, callbackPolicy: CallbackPolicy = CallbackPolicy()
    ) {
        self.callbackPolicy = callbackPolicy
        self.socketPath = socketPath
        self.databasePath = databasePath
        self.keyPath = keyPath
        self.forgetUnopenableSecrets = forgetUnopenableSecrets
        self.configuration = configuration
        self.environment = environment
        self.version = version
        self.maximumConnections = maximumConnections
    }
}

/// Where a running daemon can be reached; reported once it serves.
package struct DaemonEndpoints: Sendable {
    /// The socket path (the adopted one's path is not known: then the configured path).
    package var socketPath: String
    /// The loopback callback port.
    package var callbackPort: Int
    /// The daemon's database (the storage-fault tests make it refuse writes).
    package var store: BrokerStore
}

/// tokenbrokerd as a service: socket, loopback callback, audit writer, database.
///
/// Run it in a `ServiceGroup` (SIGTERM → graceful shutdown: stop accepting, let
/// in-flight requests answer, flush the audit log, close the database) or, in tests,
/// as a task that is cancelled at the end.
package final class BrokerDaemon: Service, Sendable {
    let options: DaemonOptions
    let logger: Logger
    let now: @Sendable () -> Date
    let sleep: @Sendable (Double) async -> Void
    private let ready = OneShot<Result<DaemonEndpoints, BrokerDaemonError>>()

    /// Creates a daemon; nothing happens until ``run()``.
    ///
    /// - Parameters:
    ///   - now: the clock's current time.
    ///   - sleep: sleeps on the same clock for a number of seconds (returning early when
    ///     cancelled), for the daemon's own deadlines.
    package init(
        options: DaemonOptions, logger: Logger, now: @escaping @Sendable () -> Date = { Date() },
        sleep: @escaping @Sendable (Double) async -> Void = { seconds in try? await Task.sleep(for: .seconds(seconds)) }
    ) {
        self.options = options
        self.logger = logger
        self.now = now
        self.sleep = sleep
    }

    /// Waits until the daemon serves (or failed to start).
    package func endpoints() async throws(BrokerDaemonError) -> DaemonEndpoints {
        guard let result = await ready.value() else { throw BrokerDaemonError("cancelled while starting") }
        return try result.get()
    }

    package func run() async throws {
        do {
            try await serve()
        } catch let error as BrokerDaemonError {
            ready.fulfill(.failure(error))
            throw error
        } catch {
            let wrapped = BrokerDaemonError("\(error)")
            ready.fulfill(.failure(wrapped))
            throw wrapped
        }
    }

    private func serve() async throws {
        if tb_harden_process() != 0 {
            logger.warning("could not disable core dumps and ptrace for the daemon")
        }
        let store: BrokerStore
        do {
            let key = try storageKey()
            store = try BrokerStore.open(
                path: options.databasePath, key: key, discardingUnopenableSecrets: options.forgetUnopenableSecrets)
        } catch let error as StorageError where error.code == .wrongKey {
            throw BrokerDaemonError(
                "\(error): the key \(options.keyPath) does not open them. Restore the key they were sealed with, or start once with --forget-unopenable-secrets to forget the tokens and client registrations stored (their scope history stays; each server asks you to sign in again)")
        } catch {
            throw BrokerDaemonError("\(error)")
        }
        let httpClient = OAuthHTTPClient.makeHTTPClient()
        defer {
            try? store.close()
        }
        do {
            try await serve(store: store, httpClient: httpClient)
        } catch {
            // A start that fails (the socket's place refused, say) still shuts the HTTP
            // client down: dropping it unshut traps.
            try? await httpClient.shutdown()
            throw error
        }
        try? await httpClient.shutdown()
        logger.info("tokenbrokerd stopped")
    }

    private func serve(store: BrokerStore, httpClient: HTTPClient) async throws {
        let registry = SignInRegistry()
        let preferredPort = await callbackPort(store: store)
        let callback = try await CallbackServer.bind(
            preferredPort: preferredPort, registry: registry, policy: options.callbackPolicy, logger: logger)

        let http = OAuthHTTPClient(
            client: httpClient, policy: options.configuration.transportPolicy, logger: logger,
            requestTimeout: .milliseconds(Int64(options.configuration.exchangeDeadline * 1000)))
        let flights = FlightTasks()
        let services = BrokerServices(
            store: store, http: http, discovery: Discovery(http: http, logger: logger), configuration: options.configuration,
            registry: registry, callbackOrigin: { callback.origin }, now: now, sleep: sleep, logger: logger,
            flights: flights)
        let broker = TokenBroker(services: services)
        let audit = AuditRecorder(store: store, now: now, logger: logger)
        let info = BrokerInfo(
            version: options.version, pid: Int(getpid()), socket: options.socketPath, database: options.databasePath,
            startedAt: now())
        let dispatcher = RequestDispatcher(broker: broker, info: info, audit: audit)

        let descriptors = DescriptorLimit.raiseSoftLimitToHard()
        let limiter = ConnectionLimiter(
            capacity: options.maximumConnections ?? ConnectionLimiter.capacity(forDescriptorLimit: descriptors))
        logger.info("descriptor limit", metadata: ["open_files": "\(descriptors)", "max_connections": "\(limiter.capacity)"])
        let socket: BrokerSocketServer
        do {
            if let descriptor = BrokerSocketServer.inheritedDescriptor(environment: options.environment) {
                socket = try await BrokerSocketServer.adopt(
                    descriptor: descriptor, dispatcher: dispatcher, limiter: limiter, logger: logger)
                logger.info("adopted the socket passed by systemd")
            } else {
                socket = try await BrokerSocketServer.bind(
                    path: options.socketPath, dispatcher: dispatcher, limiter: limiter, logger: logger)
            }
        } catch {
            try? await callback.listener.channel.close()
            throw error
        }

        await broker.resumeSignIns()
        logger.info(
            "tokenbrokerd serving",
            metadata: ["socket": "\(options.socketPath)", "database": "\(options.databasePath)", "callback": "\(callback.redirectURI)"])
        SystemdNotifier(environment: options.environment).notify("READY=1")
        ready.fulfill(.success(DaemonEndpoints(socketPath: options.socketPath, callbackPort: callback.port, store: store)))

        // Started in this order and stopped in reverse: the socket first (its requests in
        // flight still answer, and may wait for a sign-in's callback), then the callback,
        // then the flights those requests waited for, and the audit writer last, so it
        // writes what the others recorded.
        let lifecycle = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: audit), .init(service: flights), .init(service: callback), .init(service: socket)],
                logger: logger))
        try? await withGracefulShutdownHandler {
            try await lifecycle.run()
        } onGracefulShutdown: {
            SystemdNotifier(environment: self.options.environment).notify("STOPPING=1")
        }
        // However the group ended (stopped before the socket's service ran, say), the
        // socket file this daemon made does not outlive it.
        await socket.finish()
        await audit.flush()
        // Grants held only in memory while the database refused writes: a last try, also
        // when the daemon's task was cancelled (cancellation would refuse the write).
        await Task.detached { await broker.saveUnsavedGrants() }.value
    }

    /// The key at ``DaemonOptions/keyPath``, made on first start. A missing key is made
    /// only while the database holds nothing sealed: otherwise the old key is lost or
    /// misplaced, and a new one would only hide that.
    private func storageKey() throws -> StorageKey {
        let path = options.keyPath
        if let key = try StorageKey.read(path: path) { return key }
        if try BrokerStore.holdsSealedSecrets(path: options.databasePath), !options.forgetUnopenableSecrets {
            throw BrokerDaemonError(
                "no key at \(path), but the database \(options.databasePath) holds secrets sealed with one. Restore the key file (or point --key-file at it), or start once with --forget-unopenable-secrets to forget the tokens and client registrations stored (their scope history stays; each server asks you to sign in again)")
        }
        let key = try StorageKey.create(path: path)
        logger.notice("created the key that seals the database's secrets", metadata: ["key": "\(path)"])
        return key
    }

    /// The port clients were registered with, so their redirect URIs stay valid.
    private func callbackPort(store: BrokerStore) async -> Int {
        if options.configuration.preferredCallbackPort != 0 { return options.configuration.preferredCallbackPort }
        guard let resources = try? await store.allResources() else { return 0 }
        for issuer in Set(resources.compactMap(\.issuer)) {
            if let registration = try? await store.clientRegistration(issuer: issuer),
                let url = try? HTTPURL(parsing: registration.redirectURI), let port = url.port
            {
                return port
            }
        }
        return 0
    }
}

/// Why the daemon could not start or run; the message is meant for a person.
package struct BrokerDaemonError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    package var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// sd_notify(3) without libsystemd: one datagram to `$NOTIFY_SOCKET`.
struct SystemdNotifier {
    let environment: [String: String]

    func notify(_ message: String) {
        guard var path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        // A leading "@" names an abstract socket: the first path byte is then NUL.
        let isAbstract = path.hasPrefix("@")
        if isAbstract { path.removeFirst() }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let offset = isAbstract ? 1 : 0
        guard pathBytes.count + offset < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() { buffer[index + offset] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + offset + pathBytes.count + (isAbstract ? 0 : 1))
        _ = message.withCString { text in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    sendto(descriptor, text, strlen(text), Int32(MSG_NOSIGNAL), socketAddress, length)
                }
            }
        }
    }
}

