internal import TokenBrokerCore
internal import TokenBrokerProtocol

/// Why a request could not be answered, in the contract's vocabulary. The message is
/// a sentence a person can act on and never carries a secret.
struct BrokerFailure: Error, Sendable, CustomStringConvertible {
    /// The contract's `data.reason`.
    var reason: RPCErrorReason
    var message: String
    /// The sign-in URL, when one was prepared (`authorization_required`).
    var authorizationURL: String?
    /// The OAuth error code from the server, when there is one (`authorization_failed`).
    var oauthError: OAuthErrorCode?
    /// The HTTP status of the authorization server's refusal, when one was received
    /// (`authorization_failed` from a token endpoint).
    var httpStatus: Int?

    var description: String { message }

    static func discovery(_ message: String) -> BrokerFailure { .init(reason: .discoveryFailed, message: message) }
    static func upstream(_ message: String) -> BrokerFailure { .init(reason: .upstreamUnavailable, message: message) }
    static func internalError(_ message: String) -> BrokerFailure { .init(reason: .internalError, message: message) }

    /// The daemon is stopping (or the request was cancelled) before the work it waited for ended.
    static let stopping = BrokerFailure.internalError("tokenbrokerd is stopping; ask again once it is back")

    static func authorizationFailed(_ message: String, oauthError: OAuthErrorCode? = nil) -> BrokerFailure {
        .init(reason: .authorizationFailed, message: message, oauthError: oauthError)
    }

    static func authorizationRequired(_ message: String, url: String?) -> BrokerFailure {
        .init(reason: .authorizationRequired, message: message, authorizationURL: url)
    }

    static func scopeUnattainable(_ failure: GrantPlanFailure) -> BrokerFailure {
        .init(reason: .scopeUnattainable, message: failure.description)
    }
}

extension BrokerFailure {
    /// The failure a resource's state machine gave up with.
    init(_ failure: GrantFailure) {
        switch failure {
        case .scopeUnattainable(let planFailure): self = .scopeUnattainable(planFailure)
        case .refused(let refusal):
            self = .authorizationFailed(refusal.description, oauthError: refusal.error)
            httpStatus = refusal.status
        case .unsettled: self = .internalError(failure.description)
        }
    }
}
