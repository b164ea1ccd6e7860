internal import Foundation
internal import Logging
internal import TokenBrokerCore
internal import TokenBrokerStorage

/// Shared services of all sessions.
struct BrokerServices: Sendable {
    let store: BrokerStore
    let http: OAuthHTTPClient
    let discovery: Discovery
    let configuration: BrokerConfiguration
    let registry: SignInRegistry
    /// `http://127.0.0.1:<port>`, the loopback callback's origin.
    let callbackOrigin: @Sendable () -> String
    let now: @Sendable () -> Date
    /// Sleeps on the clock `now` reads, for the daemon's own deadlines (a sign-in's lifetime).
    let sleep: Sleep
    let logger: Logger
    /// Where discoveries, refreshes and sign-ins run.
    let flights: FlightTasks
    /// Dynamic registrations in progress, one per authorization server at a time.
    var registrations = RegistrationFlights()
}

extension BrokerServices {
    /// The shared redirect URI (clients registered dynamically get their own path).
    func callbackURI() -> String { callbackOrigin() + LoopbackRedirect.sharedPath }
}

/// One dynamic registration per authorization server at a time, across resources.
///
/// Two clients asking at once for resources of the same server (or for the same one)
/// must end up with one client: a second registration replaces the first in the store,
/// so tokens and MCP sessions begun under the first no longer match the client the
/// next step-up uses (the MCP SDK binds a session to its client and answers 404).
actor RegistrationFlights {
    private var flights: [String: OneShot<Result<ActiveClient, BrokerFailure>>] = [:]

    /// The result of the flight for `issuer` in progress, else of `work`, run once in `tasks`.
    func run(
        issuer: String, in tasks: FlightTasks, _ work: @escaping @Sendable () async -> Result<ActiveClient, BrokerFailure>
    ) async throws(BrokerFailure) -> ActiveClient {
        if let flight = flights[issuer] { return try await Self.result(of: flight) }
        let flight = OneShot<Result<ActiveClient, BrokerFailure>>()
        flights[issuer] = flight
        if !tasks.spawn({ flight.fulfill(await work()) }) { flight.fulfill(.failure(.stopping)) }
        defer { if flights[issuer] === flight { flights[issuer] = nil } }
        return try await Self.result(of: flight)
    }

    private static func result(of flight: OneShot<Result<ActiveClient, BrokerFailure>>) async throws(BrokerFailure) -> ActiveClient {
        guard let result = await flight.value() else { throw .stopping }
        return try result.get()
    }
}
