import Foundation
import Testing
import TokenBrokerCore

/// RFC 8628 in the core: a hostile device authorization response is bounded or refused,
/// and each poll answer leads where §3.5 says.
@Suite struct DeviceAuthorizationTests {
    static func decode(_ json: String) throws(DeviceAuthorizationError) -> DeviceAuthorizationResponse {
        try DeviceAuthorizationResponse.decode(Data(json.utf8), policy: .strict)
    }

    @Test func numbersAreBounded() throws {
        let fast = try Self.decode(
            #"{"device_code":"d","user_code":"ABCD-EFGH","verification_uri":"https://as.example/device","expires_in":99999999,"interval":0}"#)
        #expect(fast.interval == 1 && fast.expiresIn == DeviceAuthorization.maximumLifetime)
        let slow = try Self.decode(
            #"{"device_code":"d","user_code":"A","verification_url":"https://as.example/device","expires_in":600,"interval":86400}"#)
        #expect(slow.interval == 60 && slow.verificationURI == "https://as.example/device")
        let unnamed = try Self.decode(#"{"device_code":"d","user_code":"A","verification_uri":"https://as.example/d","expires_in":600}"#)
        #expect(unnamed.interval == DeviceAuthorization.defaultInterval)
    }

    @Test(arguments: [
        #"{"user_code":"A","verification_uri":"https://as.example/d","expires_in":600}"#,
        #"{"device_code":"d","user_code":"A","verification_uri":"http://as.example/d","expires_in":600}"#,
        #"{"device_code":"d","user_code":"A","verification_uri":"javascript:alert(1)","expires_in":600}"#,
        #"{"device_code":"d","user_code":"\u001b[2J","verification_uri":"https://as.example/d","expires_in":600}"#,
        #"{"device_code":"d","user_code":"A","verification_uri":"https://as.example/d","expires_in":0}"#,
        #"{"device_code":"d","user_code":"A","verification_uri":"https://as.example/d","verification_uri_complete":"file:///etc/passwd","expires_in":600}"#,
        "[]",
    ])
    func untrustworthyResponsesAreRefused(json: String) {
        #expect(throws: DeviceAuthorizationError.self) { try Self.decode(json) }
    }

    @Test func pollingFollowsSection3Point5() throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let response = try Self.decode(
            #"{"device_code":"d","user_code":"A","verification_uri":"https://as.example/d","expires_in":30,"interval":5}"#)
        var polling = DevicePolling(response, start: start)
        #expect(polling.firstWait(now: start) == .poll(after: 5))
        let pending = TokenEndpointAnswer.refused(status: 400, error: .authorizationPending)
        #expect(polling.answered(pending, now: start + 5) == .poll(after: 5))
        #expect(polling.answered(.refused(status: 400, error: .slowDown), now: start + 10) == .poll(after: 10))
        #expect(polling.answered(pending, now: start + 20) == .failed(.expired))  // 20 + 10 is past 30
        #expect(polling.answered(.refused(status: 400, error: .accessDenied), now: start) == .failed(.denied))
        #expect(polling.answered(.refused(status: 400, error: .expiredToken), now: start) == .failed(.expired))
        #expect(polling.answered(.refused(status: 400, error: .invalidClient), now: start) == .failed(.refused(.invalidClient)))
        let tokens = TokenResponse(accessToken: Secret("at"))
        #expect(polling.answered(.issued(tokens), now: start) == .issued(tokens))
    }

    @Test func theMethodIsChosenByWhatIsAvailable() {
        #expect(SignInMethod.choose(requested: nil, browserAvailable: true, deviceFlowOffered: true) == .browser)
        #expect(SignInMethod.choose(requested: nil, browserAvailable: false, deviceFlowOffered: true) == .device)
        #expect(SignInMethod.choose(requested: .device, browserAvailable: true, deviceFlowOffered: true) == .device)
        #expect(SignInMethod.choose(requested: .device, browserAvailable: false, deviceFlowOffered: false) == .browser)
        #expect(SignInMethod.choose(requested: .browser, browserAvailable: false, deviceFlowOffered: true) == .browser)
    }
}
