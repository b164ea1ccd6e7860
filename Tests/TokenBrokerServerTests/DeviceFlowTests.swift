import Foundation
import Testing
import TokenBrokerCore
import TokenBrokerProtocol
@testable import TokenBrokerServer
import TokenBrokerTestKit

/// The device authorization grant (RFC 8628) against the fake: chosen when asked or when
/// no browser can be opened, the code shown to waiting clients and in `grants/list`, one
/// poller honouring `interval`, `slow_down`, `authorization_pending`, `access_denied` and
/// `expired_token`.
@Suite(.timeLimit(.minutes(2))) struct DeviceFlowTests {
    static let read = "files:read"
    static let deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

    /// Runs `token/get` for the fake's resource with `flow`, in the background.
    static func ask(
        _ s: Scenario, flow: String? = "device", notices: EventLog<AuthorizationPendingParams>
    ) -> Task<BrokerTestClient.Reply, any Error> {
        var params: [String: JSONValue] = ["resource": .string(s.fake.resource), "scopes": [.string(read)]]
        if let flow { params["flow"] = .string(flow) }
        let client = s.client
        return Task {
            try await client.call(.tokenGet, .object(params)) { notification in
                if let params = notification.params, let pending = try? AuthorizationPendingParams(jsonValue: params) {
                    notices.append(pending)
                }
            }
        }
    }

    /// Ends the `count`-th wait of `seconds` the poller started.
    static func endWait(_ s: Scenario, seconds: Double, count: Int) async {
        _ = await s.clock.sleeps.wait { $0.filter { $0 == seconds }.count >= count }
        s.clock.advance(seconds)
    }

    @Test func aDeviceSignInPollsUntilApproved() async throws {
        try await Scenario.run({
            $0.deviceFlowEnabled = true
            $0.devicePollAnswers = ["authorization_pending", "slow_down", "authorization_pending"]
        }) { s in
            let notices = EventLog<AuthorizationPendingParams>()
            let request = Self.ask(s, notices: notices)
            let notice = try #require(await notices.wait(forCount: 1).first)
            let device = try #require(notice.device)
            #expect(device.userCode.hasPrefix("WDJB-MJH"))
            #expect(device.verificationURI == s.fake.origin + "/activate")
            #expect(notice.authorizationURL == device.verificationURIComplete)
            // grants/list shows the code while it waits.
            let listed = try await s.grants().grants.only?.pendingAuthorization?.device
            #expect(listed?.userCode == device.userCode)

            await Self.endWait(s, seconds: 5, count: 1)  // pending
            await Self.endWait(s, seconds: 5, count: 2)  // slow_down: 5 s more from now on
            await Self.endWait(s, seconds: 10, count: 1)  // pending
            await Self.endWait(s, seconds: 10, count: 2)  // approved
            let token = try await request.value.tokenResult()
            #expect(token.scopes == [Self.read])
            #expect(s.browser.openedURLs.isEmpty)
            #expect(s.fake.requests(to: "/authorize").isEmpty)

            let device_ = try #require(s.fake.requests(to: "/device").only)
            #expect(device_[field: "resource"] == s.fake.resource)
            #expect(device_[field: "scope"]?.contains(Self.read) == true)
            let polls = s.fake.tokenRequests(grantType: Self.deviceGrant)
            #expect(polls.count == 4)
            #expect(polls.allSatisfy { $0[field: "resource"] == s.fake.resource })
            let registration = try #require(s.fake.requests(to: "/register").only)
            #expect(registration.body.contains(Self.deviceGrant))
            // Served from the grant afterwards, and refreshed like any other.
            s.clock.advance(7200)
            _ = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(s.fake.tokenRequests(grantType: "refresh_token").count == 1)
        }
    }

    @Test(arguments: [("access_denied", "access_denied"), ("expired_token", "expired_token"), ("invalid_grant", "invalid_grant")])
    func aDeviceSignInThatEndsWithoutTokens(answer: String, reported: String) async throws {
        try await Scenario.run({
            $0.deviceFlowEnabled = true
            $0.devicePollAnswers = ["authorization_pending", answer]
        }) { s in
            let notices = EventLog<AuthorizationPendingParams>()
            let request = Self.ask(s, notices: notices)
            _ = await notices.wait(forCount: 1)
            await Self.endWait(s, seconds: 5, count: 1)
            await Self.endWait(s, seconds: 5, count: 2)
            let reply = try await request.value
            #expect(reply.reason == "authorization_failed")
            #expect(reply.response.error?.oauthError == reported)
            #expect(try await s.grants().grants.allSatisfy { !$0.hasAccessToken })
        }
    }

    /// A restart does not end a device sign-in: it is kept (its device code sealed) and the
    /// next run polls the same code, shows the same user code, and serves the token.
    @Test func aDeviceSignInSurvivesARestart() async throws {
        try await Scenario.run({
            $0.deviceFlowEnabled = true
            $0.devicePollAnswers = ["authorization_pending"]
        }) { s in
            let notices = EventLog<AuthorizationPendingParams>()
            let request = Self.ask(s, notices: notices)
            let device = try #require(await notices.wait(forCount: 1).first?.device)
            _ = await s.clock.sleeps.wait { $0.filter { $0 == 5 }.count >= 1 }
            #expect(!databaseFilesHold(["device-SECRET"], databaseAt: s.daemon.databasePath), "the device code is readable at rest")
            try await s.restart()
            _ = try? await request.value  // ended with the first daemon
            let listed = try await s.grants().grants.only?.pendingAuthorization?.device
            #expect(listed?.userCode == device.userCode)
            let again = Self.ask(s, notices: notices)
            _ = await notices.wait(forCount: 2)
            await Self.endWait(s, seconds: 5, count: 2)  // the first poll of the new run: pending
            await Self.endWait(s, seconds: 5, count: 3)  // approved
            let token = try await again.value.tokenResult()
            #expect(token.scopes == [Self.read])
            #expect(s.fake.requests(to: "/device").count == 1)
            let polls = s.fake.tokenRequests(grantType: Self.deviceGrant)
            #expect(polls.count == 2)
            #expect(Set(polls.compactMap { $0[field: "device_code"] }).count == 1)
            // Done: nothing is kept any more.
            try await s.restart()
            #expect(try await s.grants().grants.only?.pendingAuthorization == nil)
        }
    }

    /// A server that takes one grant type per client (django-oauth-toolkit refuses such a
    /// registration with invalid_client_metadata): the browser sign-in still works, with a
    /// client registered without the device grant.
    @Test func aServerWithOneGrantTypePerClientStillSignsInWithTheBrowser() async throws {
        try await Scenario.run({
            $0.deviceFlowEnabled = true
            $0.oneGrantTypePerClient = true
        }) { s in
            let token = try await s.client.token(s.fake.resource, scopes: [Self.read]).tokenResult()
            #expect(token.scopes == [Self.read])
            let registrations = s.fake.requests(to: "/register")
            #expect(registrations.count == 2)
            #expect(registrations.first?.body.contains(Self.deviceGrant) == true)
            #expect(registrations.last?.body.contains(Self.deviceGrant) == false)
            #expect(s.browser.openedURLs.count == 1)
        }
    }

    /// Codes that expire before anyone approves end the sign-in without another poll.
    @Test func aDeviceCodeExpires() async throws {
        try await Scenario.run({
            $0.deviceFlowEnabled = true
            $0.deviceExpiresIn = 12
            $0.devicePollAnswers = ["authorization_pending", "authorization_pending", "authorization_pending"]
        }) { s in
            let notices = EventLog<AuthorizationPendingParams>()
            let request = Self.ask(s, notices: notices)
            _ = await notices.wait(forCount: 1)
            await Self.endWait(s, seconds: 5, count: 1)
            await Self.endWait(s, seconds: 5, count: 2)
            let reply = try await request.value
            #expect(reply.reason == "authorization_failed")
            #expect(s.fake.tokenRequests(grantType: Self.deviceGrant).count == 2)
        }
    }

    /// No browser here and a server that offers the device flow: the device flow, without
    /// being asked; with a browser, the browser.
    @Test(arguments: [false, true])
    func withoutABrowserTheDeviceFlowIsChosen(browser: Bool) async throws {
        try await Scenario.run({ $0.deviceFlowEnabled = true }, launcher: browser ? nil : BrowserLauncher.none) { s in
            let notices = EventLog<AuthorizationPendingParams>()
            let request = Self.ask(s, flow: nil, notices: notices)
            let notice = try #require(await notices.wait(forCount: 1).first)
            #expect((notice.device != nil) == !browser)
            if browser {
                _ = try await request.value.tokenResult()
                #expect(s.fake.requests(to: "/device").isEmpty)
            } else {
                await Self.endWait(s, seconds: 5, count: 1)
                _ = try await request.value.tokenResult()
                #expect(s.fake.requests(to: "/authorize").isEmpty)
            }
        }
    }

    /// Asked for a device sign-in at a server without the device flow: the browser.
    @Test func aServerWithoutTheDeviceFlowGetsTheBrowser() async throws {
        try await Scenario.run { s in
            let notices = EventLog<AuthorizationPendingParams>()
            _ = try await Self.ask(s, notices: notices).value.tokenResult()
            #expect(notices.items.first?.device == nil)
            #expect(s.fake.requests(to: "/authorize").count == 1)
        }
    }

    /// An unknown flow is invalid params.
    @Test func anUnknownFlowIsRefused() async throws {
        try await Scenario.run { s in
            let reply = try await s.client.call(.tokenGet, ["resource": .string(s.fake.resource), "flow": "carrier-pigeon"])
            #expect(reply.reason == "invalid_params")
            #expect(reply.response.error?.message.contains("flow") == true)
        }
    }
}
