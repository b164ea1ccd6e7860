import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import TokenBrokerCore
import TokenBrokerProtocol
import TokenBrokerStorage
@testable import TokenBrokerServer
import TokenBrokerTestKit

/// A wall clock a test moves by hand; the daemon's own deadlines sleep on it.
final class ManualClock: Sendable {
    private struct Sleeper {
        var deadline: Date
        var wake: CheckedContinuation<Void, Never>
    }

    private struct State {
        var now: Date
        var sleepers: [UInt64: Sleeper] = [:]
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>
    /// Every wait the daemon started, in seconds, as it started: a test advances the
    /// clock once the wait it means to end has begun.
    let sleeps = EventLog<Double>()

    init(_ start: Date = Date()) {
        state = Mutex(State(now: start))
    }

    var now: Date { state.withLock { $0.now } }

    /// Moves time on, waking every sleeper whose deadline has come.
    func advance(_ seconds: TimeInterval) {
        let due = state.withLock { state in
            state.now = state.now.addingTimeInterval(seconds)
            let due = state.sleepers.filter { $0.value.deadline <= state.now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.wake)
        }
        for wake in due { wake.resume() }
    }

    /// The daemon's injected wait: returns only once the test has advanced this clock by
    /// `seconds` (or the waiting task is cancelled), never on wall time.
    @Sendable func waitUntilAdvanced(by seconds: Double) async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (wake: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    let deadline = state.now.addingTimeInterval(seconds)
                    if deadline <= state.now || Task.isCancelled { return true }
                    state.sleepers[id] = Sleeper(deadline: deadline, wake: wake)
                    return false
                }
                if !resumeNow { sleeps.append(seconds) }
                if resumeNow { wake.resume() }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.wake.resume()
        }
    }
}

/// tokenbrokerd running in-process on a temporary socket and database.
final class TestDaemon: Sendable {
    let directory: TemporaryDirectory
    let socketPath: String
    let databasePath: String
    let daemon: BrokerDaemon
    private let task: Task<Void, any Error>

    convenience init(
        directory: TemporaryDirectory? = nil, browser: BrowserLauncher, allowHTTPLoopback: Bool = true,
        preregistered: [PreregisteredClient] = [], clock: ManualClock = ManualClock(), environment: [String: String] = [:],
        logLevel: Logger.Level = .critical, logHandler: (any LogHandler)? = nil,
        callbackPolicy: CallbackPolicy = CallbackPolicy(), forgetUnopenableSecrets: Bool = false,
        exchangeDeadline: Double = 30
    ) async throws {
        var configuration = BrokerConfiguration(
            transportPolicy: TransportPolicy(allowsHTTPLoopback: allowHTTPLoopback),
            preregisteredClients: preregistered, browser: browser)
        configuration.exchangeDeadline = exchangeDeadline
        try await self.init(
            directory: directory,
            configuration: configuration,
            clock: clock, environment: environment, logLevel: logLevel, logHandler: logHandler,
            callbackPolicy: callbackPolicy, forgetUnopenableSecrets: forgetUnopenableSecrets)
    }

    /// A daemon with exactly `configuration` (the conformance scenarios set clients and a
    /// metadata document URL).
    init(
        directory: TemporaryDirectory? = nil, socketPath: String? = nil, configuration: BrokerConfiguration,
        clock: ManualClock = ManualClock(), environment: [String: String] = [:], logLevel: Logger.Level = .critical,
        logHandler: (any LogHandler)? = nil, callbackPolicy: CallbackPolicy = CallbackPolicy(),
        forgetUnopenableSecrets: Bool = false
    ) async throws {
        let directory = try directory ?? TemporaryDirectory()
        self.directory = directory
        self.socketPath = socketPath ?? directory.path + "/run/socket"
        databasePath = directory.path + "/state/broker.sqlite3"
        var logger = logHandler.map { handler in Logger(label: "tokenbrokerd-test") { _ in handler } }
            ?? Logger(label: "tokenbrokerd-test")
        logger.logLevel = logLevel
        let options = DaemonOptions(
            socketPath: self.socketPath, databasePath: databasePath, keyPath: directory.path + TestDaemon.keyFile,
            forgetUnopenableSecrets: forgetUnopenableSecrets,
            configuration: configuration, environment: environment,
            version: "test", callbackPolicy: callbackPolicy)
        let daemon = BrokerDaemon(options: options, logger: logger, now: { clock.now }, sleep: { await clock.waitUntilAdvanced(by: $0) })
        self.daemon = daemon
        task = Task { try await daemon.run() }
        _ = try await daemon.endpoints()
    }

    func client() -> BrokerTestClient { BrokerTestClient(socketPath: socketPath) }

    /// Where, in its directory, a test daemon keeps its key.
    static let keyFile = "/config/key"

    /// The key file sealing this daemon's database (made at its first start).
    var keyPath: String { directory.path + Self.keyFile }

    struct NoKey: Error {}

    /// Opens this daemon's database as the daemon does; only while it is stopped.
    func openStore() throws -> BrokerStore {
        guard let key = try StorageKey.read(path: keyPath) else { throw NoKey() }
        return try BrokerStore.open(path: databasePath, key: key)
    }

    /// Runs `body` with this daemon, then stops it, whether `body` returned or threw.
    func whileRunning<T>(_ body: (TestDaemon) async throws -> T) async throws -> T {
        try await withTeardown { try await body(self) } teardown: { await stop() }
    }

    /// Stops the daemon and waits until it released the database.
    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}
