internal import Foundation
internal import Synchronization
internal import TokenBrokerCore
internal import TokenBrokerProtocol

/// What a device sign-in (RFC 8628) holds: the secret code it polls with, its polling,
/// and what the person is shown.
struct DeviceSignInPrompt: Sendable {
    let deviceCode: Secret
    let polling: DevicePolling
    let shown: DeviceSignIn
}

/// One sign-in in progress, in a browser or on another device, shared by every request
/// that needs it.
final class SignInFlight: Sendable {
    let resource: ResourceURI
    let issuer: String
    let issParameterSupported: Bool
    let state: AuthorizationState
    let pkce: PKCE
    let redirectURI: String
    let client: ClientCredentials
    let tokenEndpoint: HTTPURL
    let scopes: ScopeSet
    let authorizationURL: String
    let startedAt: Date
    /// A device sign-in's code; `nil` for a browser sign-in.
    let device: DeviceSignInPrompt?
    /// The callback's raw query, set by the loopback listener.
    let callback = OneShot<String>()
    /// How the sign-in ended; the callback page waits for it too.
    let outcome = OneShot<Result<Grant, BrokerFailure>>()
    private let browserClaimed = Mutex(false)

    /// What became of a response offered to this sign-in.
    enum Delivery: Sendable {
        /// It went to the sign-in, which now exchanges its code (or ends, for `error=`).
        case delivered
        /// It is not an acceptable response (cut short, wrong `state` or `iss`, a repeated
        /// parameter); the sign-in still waits for one.
        case notAccepted(AuthorizationResponseError)
        /// The sign-in had its response already.
        case alreadyAnswered
    }

    /// Offers a pasted address's query, checked before it reaches the sign-in: only a
    /// well-formed response for this sign-in, or the server's own refusal (`error=`),
    /// ends it, so a paste cut short can be pasted again.
    func deliver(_ query: String) -> Delivery {
        do {
            _ = try AuthorizationResponse.validate(
                query: query, expectedState: state, expectedIssuer: issuer, issParameterSupported: issParameterSupported)
        } catch .refused {
        } catch {
            return .notAccepted(error)
        }
        return callback.fulfill(query) ? .delivered : .alreadyAnswered
    }

    /// The redirect URI's path, where this sign-in's response must arrive.
    var redirectPath: String { (try? HTTPURL(parsing: redirectURI))?.path ?? "/" }

    /// True exactly once: for the request that gets to open the browser.
    func claimBrowser() -> Bool {
        browserClaimed.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
    }

    init(
        resource: ResourceURI, issuer: String, issParameterSupported: Bool, state: AuthorizationState, pkce: PKCE,
        redirectURI: String, client: ClientCredentials, tokenEndpoint: HTTPURL, scopes: ScopeSet,
        authorizationURL: String, startedAt: Date, device: DeviceSignInPrompt? = nil
    ) {
        self.device = device
        self.resource = resource
        self.issuer = issuer
        self.issParameterSupported = issParameterSupported
        self.state = state
        self.pkce = pkce
        self.redirectURI = redirectURI
        self.client = client
        self.tokenEndpoint = tokenEndpoint
        self.scopes = scopes
        self.authorizationURL = authorizationURL
        self.startedAt = startedAt
    }
}

/// The sign-ins waiting for their callback, by `state`.
final class SignInRegistry: Sendable {
    private let flights = Mutex<[String: SignInFlight]>([:])

    func add(_ flight: SignInFlight) {
        flights.withLock { $0[flight.state.value] = flight }
    }

    func remove(_ flight: SignInFlight) {
        _ = flights.withLock { $0.removeValue(forKey: flight.state.value) }
    }

    func flight(state: String) -> SignInFlight? {
        flights.withLock { $0[state] }
    }

    var all: [SignInFlight] { flights.withLock { Array($0.values) } }
}
