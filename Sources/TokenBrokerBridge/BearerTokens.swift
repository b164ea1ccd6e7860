package import TokenBrokerClient
package import TokenBrokerProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The access token every request of one bridge carries, from the daemon.
///
/// One daemon call at a time: requests that need a token while one is being fetched wait
/// for that fetch, and a refusal reported by several requests at once (all with the same
/// rejected token) reaches the daemon once. The daemon does the rest (refresh, step-up to
/// the union of scopes, the sign-in), shared with every other bridge and host.
package actor BearerTokens {
    private let broker: BrokerClient
    private let resource: String
    private let scopes: [String]
    private let waitSeconds: Int?
    private let onSignIn: @Sendable (AuthorizationPendingParams) -> Void

    private var current: (token: String, validUntil: Date?)?
    private var fetch: (id: Int, task: Task<String, any Error>)?
    private var fetchCount = 0

    /// Asked again this long before the token expires (the daemon refreshes ahead too).
    static let renewalMargin: TimeInterval = 60

    /// Tokens for `resource`.
    ///
    /// - Parameters:
    ///   - broker: The daemon.
    ///   - resource: The MCP server URL.
    ///   - scopes: Scopes every token must cover (the bridge's `--scope`s).
    ///   - waitSeconds: How long the daemon waits for a person to sign in (its default when nil).
    ///   - onSignIn: Called when a person must sign in, with the URL the daemon opened.
    package init(
        broker: BrokerClient, resource: String, scopes: [String], waitSeconds: Int? = nil,
        onSignIn: @escaping @Sendable (AuthorizationPendingParams) -> Void
    ) {
        self.broker = broker
        self.resource = resource
        self.scopes = scopes
        self.waitSeconds = waitSeconds
        self.onSignIn = onSignIn
    }

    /// A token valid for a while yet: the one held, or the daemon's.
    package func token() async throws -> String {
        if let current, current.validUntil.map({ $0.timeIntervalSinceNow > Self.renewalMargin }) ?? true {
            return current.token
        }
        return try await fetched { [broker, resource, scopes, waitSeconds, onSignIn] in
            try await broker.token(for: resource, scopes: scopes, waitSeconds: waitSeconds, onAuthorizationPending: onSignIn)
        }
    }

    /// A token to retry with after the server refused `rejected` with `status` (401 or 403)
    /// and `challenge` (its `WWW-Authenticate`): the daemon refreshes or steps up, once for
    /// all the requests refused with the same token.
    package func replacement(for rejected: String, status: Int, challenge: String) async throws -> String {
        if let current, current.token != rejected { return current.token }
        if let fetch { return try await fetch.task.value }
        current = nil
        return try await fetched { [broker, resource, scopes, waitSeconds, onSignIn] in
            try await broker.token(
                for: resource, afterChallenge: challenge, status: status, rejectedToken: rejected, scopes: scopes,
                waitSeconds: waitSeconds, onAuthorizationPending: onSignIn)
        }
    }

    private func fetched(_ call: @escaping @Sendable () async throws -> TokenGetResult) async throws -> String {
        if let fetch { return try await fetch.task.value }
        fetchCount += 1
        let id = fetchCount
        let task = Task<String, any Error> {
            let result = try await call()
            self.hold(result)  // the task runs on this actor
            return result.accessToken.exposedValue
        }
        fetch = (id, task)
        defer { if fetch?.id == id { fetch = nil } }
        return try await task.value
    }

    private func hold(_ result: TokenGetResult) {
        current = (result.accessToken.exposedValue, result.expiresAt)
    }
}
