#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

/// The device authorization grant (RFC 8628): for a machine with no browser near it, the
/// person opens a URL on any other device and types a short code.
package enum DeviceAuthorization {
    /// The grant type polled with, and registered by dynamic registration.
    package static let grantType = "urn:ietf:params:oauth:grant-type:device_code"

    /// RFC 8628 §3.5: the wait between polls when the server names none.
    package static let defaultInterval = 5
    /// Bounds on a server's numbers: a hostile one must not make the broker poll
    /// in a tight loop or keep a sign-in open for days.
    package static let intervalRange = 1...60
    package static let maximumLifetime = 1800
}

/// How a sign-in is made.
package enum SignInMethod: String, Sendable, Equatable {
    /// The authorization code flow in a browser, back to the loopback callback.
    case browser
    /// RFC 8628: a code to type on another device.
    case device

    /// The method for a new sign-in: the one asked for when the server offers it; else the
    /// device flow when no browser can be opened here and the server offers it; else the
    /// browser (its URL is still shown to waiting clients, and can be pasted back).
    package static func choose(requested: SignInMethod?, browserAvailable: Bool, deviceFlowOffered: Bool) -> SignInMethod {
        guard deviceFlowOffered else { return .browser }
        if let requested { return requested }
        return browserAvailable ? .browser : .device
    }
}

/// The device authorization endpoint's answer (RFC 8628 §3.2), bounded.
package struct DeviceAuthorizationResponse: Sendable, Equatable {
    /// What the broker polls with: a secret.
    package var deviceCode: Secret
    /// What the person types.
    package var userCode: String
    /// Where the person goes.
    package var verificationURI: String
    /// The same with the code filled in, when the server offers it.
    package var verificationURIComplete: String?
    /// Seconds until the codes expire, at most ``DeviceAuthorization/maximumLifetime``.
    package var expiresIn: Int
    /// Seconds between polls, within ``DeviceAuthorization/intervalRange``.
    package var interval: Int

    private struct Raw: Decodable {
        var device_code: String?
        var user_code: String?
        var verification_uri: String?
        var verification_url: String?  // Google's spelling
        var verification_uri_complete: String?
        var expires_in: Int?
        var interval: Int?
    }

    /// Decodes and checks a response: the codes present and short enough to show, the
    /// URIs https (or loopback http under the policy), the numbers clamped.
    package static func decode(_ body: Data, policy: TransportPolicy) throws(DeviceAuthorizationError) -> DeviceAuthorizationResponse {
        guard let raw = try? JSONDecoder().decode(Raw.self, from: body) else { throw .malformed }
        guard let deviceCode = raw.device_code, !deviceCode.isEmpty, deviceCode.utf8.count <= 4096 else {
            throw .missing("device_code")
        }
        guard let userCode = raw.user_code, !userCode.isEmpty, userCode.count <= 64,
            userCode.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F })
        else { throw .missing("user_code") }
        func checked(_ text: String?, _ name: String) throws(DeviceAuthorizationError) -> String? {
            guard let text else { return nil }
            guard text.utf8.count <= 2048, let url = try? HTTPURL(parsing: text), (try? policy.check(url)) != nil else {
                throw .untrustworthyURI(name)
            }
            return text
        }
        guard let verificationURI = try checked(raw.verification_uri ?? raw.verification_url, "verification_uri") else {
            throw .missing("verification_uri")
        }
        let complete = try checked(raw.verification_uri_complete, "verification_uri_complete")
        guard let expiresIn = raw.expires_in, expiresIn > 0 else { throw .missing("expires_in") }
        let interval = raw.interval ?? DeviceAuthorization.defaultInterval
        return DeviceAuthorizationResponse(
            deviceCode: Secret(deviceCode), userCode: userCode, verificationURI: verificationURI,
            verificationURIComplete: complete, expiresIn: min(expiresIn, DeviceAuthorization.maximumLifetime),
            interval: min(max(interval, DeviceAuthorization.intervalRange.lowerBound), DeviceAuthorization.intervalRange.upperBound))
    }
}

/// Why a device authorization response cannot be used.
package enum DeviceAuthorizationError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed
    case missing(String)
    case untrustworthyURI(String)

    package var description: String {
        switch self {
        case .malformed: "the device authorization endpoint answered with something that is not a device authorization response"
        case .missing(let member): "the device authorization response has no usable \(member)"
        case .untrustworthyURI(let member): "the device authorization response's \(member) is not an https URL"
        }
    }
}

/// The polling of one device sign-in (RFC 8628 §3.4–3.5), as a value: each token endpoint
/// answer says what to do next.
package struct DevicePolling: Sendable, Equatable {
    /// Seconds to wait before the next poll.
    package private(set) var interval: Int
    /// When the codes expire.
    package let expiresAt: Date

    /// Polling for `response`, received at `start`.
    package init(_ response: DeviceAuthorizationResponse, start: Date) {
        interval = response.interval
        expiresAt = start.addingTimeInterval(TimeInterval(response.expiresIn))
    }

    /// Polling taken up again (after a restart), every `interval` seconds (kept within
    /// ``DeviceAuthorization/intervalRange``) until `expiresAt`.
    package init(interval: Int, expiresAt: Date) {
        self.interval = min(max(interval, DeviceAuthorization.intervalRange.lowerBound), DeviceAuthorization.intervalRange.upperBound)
        self.expiresAt = expiresAt
    }

    /// What a poll's answer means.
    package enum Next: Sendable, Equatable {
        /// Wait this many seconds, then poll again.
        case poll(after: Int)
        /// The person approved: the tokens.
        case issued(TokenResponse)
        /// The sign-in is over without tokens.
        case failed(DevicePollingFailure)
    }

    /// The wait before the first poll, and after a poll that got no answer (the server
    /// unreachable): the code is still good until it expires.
    package func firstWait(now: Date) -> Next { wait(now: now) }

    /// The token endpoint answered a poll at `now`.
    package mutating func answered(_ answer: TokenEndpointAnswer, now: Date) -> Next {
        switch answer {
        case .issued(let response):
            return .issued(response)
        case .refused(_, let error):
            switch error {
            case .authorizationPending:
                return wait(now: now)
            case .slowDown:
                // §3.5: every later poll waits 5 seconds longer.
                interval = min(interval + 5, DeviceAuthorization.intervalRange.upperBound)
                return wait(now: now)
            case .accessDenied:
                return .failed(.denied)
            case .expiredToken:
                return .failed(.expired)
            default:
                return .failed(.refused(error))
            }
        }
    }

    private func wait(now: Date) -> Next {
        guard now.addingTimeInterval(TimeInterval(interval)) < expiresAt else { return .failed(.expired) }
        return .poll(after: interval)
    }
}

/// Why a device sign-in ended without tokens.
package enum DevicePollingFailure: Sendable, Equatable, CustomStringConvertible {
    /// The person declined.
    case denied
    /// Nobody approved before the codes expired.
    case expired
    /// Any other refusal.
    case refused(OAuthErrorCode?)

    package var description: String {
        switch self {
        case .denied: "the sign-in was declined"
        case .expired: "nobody approved the sign-in before its code expired"
        case .refused(let error): "the token endpoint refused the device sign-in (\(error?.description ?? "no OAuth error"))"
        }
    }
}
