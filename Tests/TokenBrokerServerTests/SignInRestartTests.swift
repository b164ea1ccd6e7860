import Foundation
import Testing
import TokenBrokerProtocol
@testable import TokenBrokerServer
import TokenBrokerTestKit

/// A sign-in is kept on disk: a daemon restarted between showing the URL and the person
/// finishing still takes the browser's callback, or the pasted address.
@Suite struct SignInRestartTests {
    static let read = "files:read"

    @Test(arguments: [false, true])
    func aSignInShownBeforeARestartCompletesAfterIt(pasted: Bool) async throws {
        try await Scenario.run { s in
            // A non-interactive request prepares the sign-in and answers with its URL.
            let asked = try await s.client.token(s.fake.resource, scopes: [Self.read], interactive: false)
            #expect(asked.reason == "authorization_required")
            let url = try #require(asked.response.error?.authorizationURL)

            try await s.restart()
            let listed = try await s.grants()
            #expect(listed.grants.first?.pendingAuthorization?.authorizationURL == url)

            if pasted {
                let address = try await s.browser.signIn(url)
                let reply = try await s.client.call(.authorizationComplete, AuthorizationCompleteParams(redirectURL: address).jsonValue)
                let completed = try AuthorizationCompleteResult(jsonValue: try #require(reply.response.result))
                #expect(completed.scopes == [Self.read])
            } else {
                let visit = try await s.browser.follow(url)
                #expect(visit.callbackStatus == 200)
            }
            // The grant is there without another sign-in, and nothing waits any more.
            let served = try await s.client.token(s.fake.resource, scopes: [Self.read], interactive: false)
            #expect(try served.tokenResult().scopes == [Self.read])
            #expect(try await s.grants().grants.allSatisfy { $0.pendingAuthorization == nil })
            #expect(s.fake.tokenRequests(grantType: "authorization_code").count == 1)
            #expect(s.fake.requests(to: "/register").count == 1)
        }
    }

    /// A sign-in nobody finishes ends after its lifetime (900 s) on the daemon's clock:
    /// the waiting client hears so, and the next request starts a new one.
    @Test func aSignInEndsAfterItsLifetime() async throws {
        try await Scenario.run(browser: ManualBrowser(autoFollow: { _ in false })) { s in
            let clock = s.clock
            let reply = try await s.client.token(s.fake.resource, scopes: [Self.read], waitSeconds: 86_400) { notification in
                guard notification.method == .authorizationPending else { return }
                // Once the sign-in waits on the clock: the notification may come first.
                _ = await clock.sleeps.wait { $0.contains(900) }
                clock.advance(900 + 1)
            }
            #expect(reply.reason == "authorization_failed")
            #expect(reply.response.error?.message.contains("not completed in time") == true)
            #expect(try await s.grants().grants.allSatisfy { $0.pendingAuthorization == nil })
            let again = try await s.client.token(s.fake.resource, scopes: [Self.read], interactive: false)
            #expect(again.reason == "authorization_required")
        }
    }

    /// A kept sign-in past its lifetime is not taken up: it is forgotten.
    @Test func anExpiredKeptSignInIsForgotten() async throws {
        try await Scenario.run { s in
            let asked = try await s.client.token(s.fake.resource, scopes: [Self.read], interactive: false)
            #expect(asked.reason == "authorization_required")
            s.clock.advance(900 + 1)
            try await s.restart()
            #expect(try await s.grants().grants.allSatisfy { $0.pendingAuthorization == nil })
        }
    }
}
