import Foundation
import Logging
import Synchronization
import TokenBrokerCore
import TokenBrokerProtocol
@testable import TokenBrokerServer
import TokenBrokerTestKit

/// One test's world: a fake authorization + resource server, a steerable browser, a
/// manual clock and the daemon, torn down in order whatever the test did.
final class Scenario: Sendable {
    let fake: FakeOAuthServer
    let browser: ManualBrowser
    let clock: ManualClock
    let directory: TemporaryDirectory
    private let launcher: BrowserLauncher
    private let allowHTTPLoopback: Bool
    private let logLevel: Logger.Level
    private let logHandler: CapturingLogHandler?
    private let preregistered: Mutex<[PreregisteredClient]>
    private let callbackPolicy: CallbackPolicy
    private let exchangeDeadline: Double
    private let current: Mutex<TestDaemon>
    private let others = Mutex<[FakeOAuthServer]>([])

    var daemon: TestDaemon { current.withLock { $0 } }
    var client: BrokerTestClient { daemon.client() }

    private init(
        fake: FakeOAuthServer, browser: ManualBrowser, clock: ManualClock, directory: TemporaryDirectory,
        launcher: BrowserLauncher, allowHTTPLoopback: Bool, logLevel: Logger.Level, logHandler: CapturingLogHandler?,
        preregistered: [PreregisteredClient], callbackPolicy: CallbackPolicy, exchangeDeadline: Double, daemon: TestDaemon
    ) {
        self.callbackPolicy = callbackPolicy
        self.exchangeDeadline = exchangeDeadline
        self.fake = fake
        self.browser = browser
        self.clock = clock
        self.directory = directory
        self.launcher = launcher
        self.allowHTTPLoopback = allowHTTPLoopback
        self.logLevel = logLevel
        self.logHandler = logHandler
        self.preregistered = Mutex(preregistered)
        current = Mutex(daemon)
    }

    /// Runs `body` against a fresh fake and daemon.
    ///
    /// - Parameters:
    ///   - configure: the fake's behaviour.
    ///   - browser: the browser; by default it follows every sign-in at once.
    ///   - launcher: what the daemon runs to show a URL; the browser's by default.
    ///   - preregistered: operator-configured clients, given the fake (its issuer).
    static func run(
        _ configure: (inout FakeOAuthServer.Behaviour) -> Void = { _ in },
        browser: ManualBrowser = ManualBrowser(), launcher: BrowserLauncher? = nil, allowHTTPLoopback: Bool = true,
        logLevel: Logger.Level = .critical, logHandler: CapturingLogHandler? = nil,
        preregistered: (FakeOAuthServer) -> [PreregisteredClient] = { _ in [] },
        callbackPolicy: CallbackPolicy = CallbackPolicy(), exchangeDeadline: Double = 30,
        _ body: (Scenario) async throws -> Void
    ) async throws {
        let fake = try await FakeOAuthServer.start(configure)
        let clients = preregistered(fake)
        let clock = ManualClock()
        let directory = try TemporaryDirectory()
        let launcher = launcher ?? browser.launcher
        let daemon: TestDaemon
        do {
            daemon = try await TestDaemon(
                directory: directory, browser: launcher, allowHTTPLoopback: allowHTTPLoopback, preregistered: clients,
                clock: clock, logLevel: logLevel, logHandler: logHandler, callbackPolicy: callbackPolicy,
                exchangeDeadline: exchangeDeadline)
        } catch {
            await fake.stop()
            await browser.shutdown()
            throw error
        }
        let scenario = Scenario(
            fake: fake, browser: browser, clock: clock, directory: directory, launcher: launcher,
            allowHTTPLoopback: allowHTTPLoopback, logLevel: logLevel, logHandler: logHandler, preregistered: clients,
            callbackPolicy: callbackPolicy, exchangeDeadline: exchangeDeadline, daemon: daemon)
        do {
            try await body(scenario)
        } catch {
            await scenario.tearDown()
            throw error
        }
        await scenario.tearDown()
    }

    /// Stops the daemon and starts another on the same socket and database, running
    /// `meanwhile` while none runs; `preregistered` replaces the configured clients.
    func restart(preregistered replacement: [PreregisteredClient]? = nil, meanwhile: () async throws -> Void = {}) async throws {
        await daemon.stop()
        try await meanwhile()
        let clients = preregistered.withLock { clients in
            if let replacement { clients = replacement }
            return clients
        }
        let next = try await TestDaemon(
            directory: directory, browser: launcher, allowHTTPLoopback: allowHTTPLoopback, preregistered: clients,
            clock: clock, logLevel: logLevel, logHandler: logHandler, callbackPolicy: callbackPolicy,
            exchangeDeadline: exchangeDeadline)
        current.withLock { $0 = next }
    }

    /// Another fake server, stopped with the scenario.
    func startAnotherServer(_ configure: (inout FakeOAuthServer.Behaviour) -> Void = { _ in }) async throws -> FakeOAuthServer {
        let server = try await FakeOAuthServer.start(configure)
        others.withLock { $0.append(server) }
        return server
    }

    /// `grants/list`, decoded.
    func grants() async throws -> GrantsListResult {
        let reply = try await client.call(.grantsList)
        return try GrantsListResult(jsonValue: try reply.response.result.orThrow("grants/list failed: \(reply.response)"))
    }

    private func tearDown() async {
        await daemon.stop()
        await browser.shutdown()
        await fake.stop()
        for server in others.withLock({ $0 }) { await server.stop() }
    }
}

extension Optional {
    func orThrow(_ description: @autoclosure () -> String) throws -> Wrapped {
        guard let self else { throw UnexpectedError(description: description()) }
        return self
    }
}
