import Foundation
import Logging
import Synchronization
import TokenBrokerCore
import TokenBrokerServer

/// One scenario of `Tests/Conformance` at one spec version (wire).
struct ConformanceRun: Sendable, Hashable, Codable, CustomStringConvertible {
    var scenario: String
    var specVersion: String

    var description: String { "\(scenario) @ \(specVersion)" }
}

/// What the fixture prints once its servers listen.
struct ConformanceHandshake: Decodable, Sendable {
    struct Client: Decodable, Sendable {
        var issuer: String
        var clientId: String
        var clientSecret: String?
        var method: String?
        var grantType: String?
        var privateKeyPEM: String?
    }

    struct Daemon: Decodable, Sendable {
        var preregistered: [Client]?
        var metadataDocumentClientID: String?
    }

    var scenario: String
    var specVersion: String
    var serverUrl: String
    var allowClientError: Bool
    var daemon: Daemon
}

/// The fixture's judgement of one run.
struct ConformanceVerdict: Decodable, Sendable {
    struct Check: Decodable, Sendable {
        var id: String
        var status: String
        var description: String
    }

    struct Driver: Decodable, Sendable {
        var exitCode: Int?
        var timedOut: Bool
        var stderr: String
    }

    var result: String
    var failures: [String]
    var checks: [Check]
    var driver: Driver

    var passed: Bool { result == "PASS" }

    /// For a failure message: the failing checks with their descriptions, and why the
    /// driver stopped. Neither contains a secret (the fixture and driver never print one).
    var explanation: String {
        let failing = checks.filter { $0.status == "FAILURE" || $0.status == "WARNING" }
            .map { "\($0.status) \($0.id): \($0.description)" }
        let stderr = driver.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        return (["failing: " + failures.joined(separator: ", ")] + failing + (stderr.isEmpty ? [] : ["driver: " + stderr]))
            .joined(separator: "\n")
    }
}

/// `Tests/Conformance/fixture.py` for one run: the fake servers and, on request, the driver.
final class ConformanceFixture: Sendable {
    let fixture: FixtureProcess
    let handshake: ConformanceHandshake

    struct FixtureFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts the fixture; `results` is where it files the verdict for `report.py`.
    init(_ run: ConformanceRun, results: String?) async throws {
        do {
            (fixture, handshake) = try await FixtureProcess.start(
                "/usr/bin/env",
                ["python3", repositoryRoot + "/Tests/Conformance/fixture.py", run.scenario, "--spec-version", run.specVersion]
                    + (results.map { ["--results", $0] } ?? []),
                handshake: ConformanceHandshake.self)
        } catch let error as FixtureProcess.ExitedEarly {
            throw FixtureFailed(description: "\(error) (run it by hand: python3 Tests/Conformance/fixture.py \(run.scenario))")
        }
    }

    /// Runs the driver against `socketPath` and returns the fixture's verdict.
    ///
    /// - Parameters:
    ///   - timeout: the driver's time limit in seconds (the suite's is 30).
    ///   - driverArguments: extra arguments for `driver.py` (`--challenge-only`).
    func runDriver(socketPath: String, timeout: Int = 30, driverArguments: [String] = []) async throws -> ConformanceVerdict {
        var spec: [String: Any] = ["socket": socketPath, "timeout": timeout]
        if !driverArguments.isEmpty {
            spec["command"] = ["/usr/bin/env", "python3", repositoryRoot + "/Tests/Conformance/driver.py"] + driverArguments
        }
        try fixture.send(try JSONSerialization.data(withJSONObject: ["run": spec]))
        guard let line = await fixture.lines.next() else {
            throw FixtureFailed(description: "the conformance fixture exited without a verdict")
        }
        return try JSONDecoder().decode(ConformanceVerdict.self, from: line)
    }

    func stop() async {
        await fixture.stop(terminate: true)
    }
}

enum ConformanceHarness {
    /// Where verdicts go for `python3 Tests/Conformance/report.py`.
    static let resultsDirectory: String =
        ProcessInfo.processInfo.environment["TOKENBROKER_CONFORMANCE_RESULTS"].flatMap { $0.isEmpty ? nil : $0 }
        ?? repositoryRoot + "/.build/conformance-results"

    /// The daemon configuration scenarios ask for: loopback HTTP allowed, their
    /// pre-registered clients and metadata document URL.
    static func configuration(for handshakes: [ConformanceHandshake], browser: BrowserLauncher) -> BrokerConfiguration {
        let clients = handshakes.flatMap { $0.daemon.preregistered ?? [] }.map { client in
            let credentials =
                if let pem = client.privateKeyPEM, let key = try? ClientSigningKey(pem: pem) {
                    ClientCredentials(clientID: client.clientId, assertionKey: ClientAssertionKey(key: key, audience: client.issuer))
                } else {
                    ClientCredentials(
                        clientID: client.clientId, clientSecret: client.clientSecret.map(Secret.init),
                        authenticationMethod: client.method.flatMap(ClientAuthenticationMethod.init(rawValue:)) ?? .clientSecretBasic)
                }
            return PreregisteredClient(
                issuer: client.issuer, credentials: credentials,
                grantType: client.grantType.flatMap(ClientGrantType.init(rawValue:)) ?? .authorizationCode)
        }
        return BrokerConfiguration(
            transportPolicy: .loopbackHTTPAllowed, preregisteredClients: clients,
            metadataDocumentClientID: handshakes.lazy.compactMap(\.daemon.metadataDocumentClientID).first, browser: browser)
    }

    /// Runs one scenario: fixture, a fresh daemon, the driver; returns the verdict.
    ///
    /// - Parameters:
    ///   - record: file the verdict for the report (off for deliberately broken setups).
    ///   - adjust: changes to the scenario's daemon configuration (negative controls).
    static func run(
        _ run: ConformanceRun, record: Bool = true, adjust: (inout BrokerConfiguration) -> Void = { _ in }
    ) async throws -> ConformanceVerdict {
        let fixture = try await ConformanceFixture(run, results: record ? resultsDirectory : nil)
        let browser = ManualBrowser()
        var configuration = configuration(for: [fixture.handshake], browser: browser.launcher)
        adjust(&configuration)
        let daemon: TestDaemon
        do {
            daemon = try await TestDaemon(configuration: configuration)
        } catch {
            await fixture.stop()
            await browser.shutdown()
            throw error
        }
        let verdict: Result<ConformanceVerdict, any Error>
        do {
            verdict = .success(try await fixture.runDriver(socketPath: daemon.socketPath))
        } catch {
            verdict = .failure(error)
        }
        await daemon.stop()
        await browser.shutdown()
        await fixture.stop()
        return try verdict.get()
    }

    /// Runs every scenario against one daemon, as the official runner's `--suite` runs
    /// its scenarios in parallel against one client installation: all fixtures first (so
    /// the one configuration holds every scenario's pre-registered client and the metadata
    /// document URL), then the drivers, `concurrency` at a time.
    static func runTogether(
        _ runs: [ConformanceRun], concurrency: Int, driverArguments: [String] = []
    ) async throws -> [ConformanceRun: ConformanceVerdict] {
        var fixtures: [ConformanceRun: ConformanceFixture] = [:]
        let browser = ManualBrowser()
        do {
            for run in runs {
                fixtures[run] = try await ConformanceFixture(run, results: nil)
            }
        } catch {
            for fixture in fixtures.values { await fixture.stop() }
            await browser.shutdown()
            throw error
        }
        let configuration = configuration(for: runs.compactMap { fixtures[$0]?.handshake }, browser: browser.launcher)
        let verdicts: Result<[ConformanceRun: ConformanceVerdict], any Error>
        do {
            let daemon = try await TestDaemon(configuration: configuration)
            do {
                verdicts = .success(try await drive(
                    runs, fixtures: fixtures, socketPath: daemon.socketPath, concurrency: concurrency,
                    driverArguments: driverArguments))
            } catch {
                verdicts = .failure(error)
            }
            await daemon.stop()
        } catch {
            verdicts = .failure(error)
        }
        for fixture in fixtures.values { await fixture.stop() }
        await browser.shutdown()
        return try verdicts.get()
    }

    private static func drive(
        _ runs: [ConformanceRun], fixtures: [ConformanceRun: ConformanceFixture], socketPath: String, concurrency: Int,
        driverArguments: [String]
    ) async throws -> [ConformanceRun: ConformanceVerdict] {
        try await withThrowingTaskGroup(of: (ConformanceRun, ConformanceVerdict).self) { group in
            var pending = runs[...]
            var collected: [ConformanceRun: ConformanceVerdict] = [:]
            func startNext() {
                guard let run = pending.popFirst(), let fixture = fixtures[run] else { return }
                group.addTask {
                    (run, try await fixture.runDriver(socketPath: socketPath, timeout: 90, driverArguments: driverArguments))
                }
            }
            for _ in 0..<concurrency { startNext() }
            while let (run, verdict) = try await group.next() {
                collected[run] = verdict
                startNext()
            }
            return collected
        }
    }
}
