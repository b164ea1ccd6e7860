import Foundation
import Logging
import Synchronization
import Testing
import TokenBrokerProtocol
@testable import TokenBrokerServer
import TokenBrokerTestKit

/// `authorization/complete`: a person whose browser runs on another machine (over SSH)
/// pastes the address it was sent back to, which that browser could not open.
@Suite struct PastedRedirectTests {
    static let read = "files:read"

    /// Waits in `token/get` for a sign-in nobody's browser completes, and hands each
    /// pending sign-in to `paste` with the address the browser ended on.
    private static func waitingSignIn(
        _ s: Scenario, paste: @escaping @Sendable (_ redirect: String) async throws -> Void
    ) async throws -> BrokerTestClient.Reply {
        let browser = s.browser
        return try await s.client.token(s.fake.resource, scopes: [read], waitSeconds: 60) { notification in
            guard notification.method == .authorizationPending, let params = notification.params,
                let pending = try? AuthorizationPendingParams(jsonValue: params),
                let redirect = try? await browser.signIn(pending.authorizationURL)
            else { return }
            try? await paste(redirect)
        }
    }

    private static func complete(_ s: Scenario, _ address: String) async throws -> BrokerTestClient.Reply {
        try await s.client.call(.authorizationComplete, AuthorizationCompleteParams(redirectURL: address).jsonValue)
    }

    @Test func aPastedAddressCompletesTheWaitingSignIn() async throws {
        let records = EventLog<CapturedLog>()
        try await Scenario.run(
            browser: .manual(), launcher: BrowserLauncher.none, logLevel: .trace,
            logHandler: CapturingLogHandler(records: records)
        ) { s in
            let completion = Mutex<BrokerTestClient.Reply?>(nil)
            let reply = try await Self.waitingSignIn(s) { redirect in
                // As pasted: surrounding blanks and all.
                let answer = try await Self.complete(s, "  \(redirect)\n")
                completion.withLock { $0 = answer }
            }
            let token = try reply.tokenResult()
            #expect(token.scopes == [Self.read])
            let answer = try #require(completion.withLock { $0 })
            let completed = try AuthorizationCompleteResult(jsonValue: try #require(answer.response.result))
            #expect(completed == AuthorizationCompleteResult(resource: s.fake.resource, issuer: s.fake.issuer, scopes: [Self.read]))
            // The callback was never visited; the code was exchanged once, with PKCE.
            let exchange = try #require(s.fake.tokenRequests(grantType: "authorization_code").only)
            #expect(exchange[field: "code_verifier"] != nil)
            // The pasted address holds the code: it stays out of the logs.
            let code = try #require(exchange[field: "code"])
            #expect(!records.items.contains { $0.text.contains(code) })
            #expect(records.items.contains { $0.message.contains("signed in") })
            // The audit log names who completed it.
            let audit = try AuditListResult(jsonValue: try #require(try await s.client.call(.auditList).response.result))
            let completing = try #require(audit.entries.first { $0.method == "authorization/complete" })
            #expect(completing.outcome == "completed")
            #expect(completing.resource == s.fake.resource)
            #expect(completing.scopes == [Self.read])
        }
    }

    /// Addresses that are not this sign-in's response are refused without a word of the
    /// code, and the sign-in stays open for the right one.
    @Test func otherAddressesAreRefusedAndTheSignInWaits() async throws {
        try await Scenario.run(browser: .manual(), launcher: BrowserLauncher.none) { s in
            let refusals = Mutex<[BrokerTestClient.Reply]>([])
            let reply = try await Self.waitingSignIn(s) { redirect in
                let query = String(redirect.split(separator: "?", maxSplits: 1)[1])
                let port = try #require(URLComponents(string: redirect)?.port)
                for wrong in [
                    "not an address",
                    redirect.components(separatedBy: "?")[0],  // no query
                    "http://localhost:\(port)/callback?\(query)",  // not the registered redirect URI
                    "http://127.0.0.1:\(port)/elsewhere?\(query)",
                    redirect.replacingOccurrences(of: "state=", with: "state=x"),  // another sign-in's state
                ] {
                    let refusal = try await Self.complete(s, wrong)
                    refusals.withLock { $0.append(refusal) }
                }
                _ = try await Self.complete(s, redirect)
            }
            #expect(try reply.tokenResult().scopes == [Self.read])
            let reasons = refusals.withLock { $0.map(\.reason) }
            #expect(reasons == ["invalid_params", "invalid_params", "authorization_failed", "authorization_failed", "authorization_failed"])
            let code = try #require(s.fake.tokenRequests(grantType: "authorization_code").only?[field: "code"])
            for refusal in refusals.withLock({ $0 }) {
                #expect(!(refusal.response.error?.message.contains(code) ?? true))
            }
        }
    }

    /// A paste cut short (a wrapped line, a terminal's line limit) is refused without
    /// ending the sign-in: the whole address pasted next completes it.
    @Test func aCutShortPasteLeavesTheSignInWaiting() async throws {
        try await Scenario.run(browser: .manual(), launcher: BrowserLauncher.none) { s in
            let refusals = Mutex<[BrokerTestClient.Reply]>([])
            let reply = try await Self.waitingSignIn(s) { redirect in
                // The fake sends code, state, iss in this order.
                let issStart = try #require(redirect.range(of: "&iss="))
                let withoutIss = String(redirect[..<issStart.lowerBound])
                let withoutCode = redirect.replacingOccurrences(of: "code=", with: "kode=")
                let doubled = redirect + "&code=again"
                for cut in [withoutIss, withoutCode, doubled] {
                    let refusal = try await Self.complete(s, cut)
                    refusals.withLock { $0.append(refusal) }
                }
                _ = try await Self.complete(s, redirect)
            }
            #expect(try reply.tokenResult().scopes == [Self.read])
            let refused = refusals.withLock { $0 }
            #expect(refused.map(\.reason) == ["authorization_failed", "authorization_failed", "authorization_failed"])
            #expect(refused.allSatisfy { $0.response.error?.message.contains("The sign-in still waits") == true })
            #expect(s.fake.tokenRequests(grantType: "authorization_code").count == 1)
        }
    }

    /// An address is used once: pasted again while its code is being exchanged, or
    /// after, it is refused, and the first paste's sign-in is not disturbed.
    @Test func anAddressIsUsedOnce() async throws {
        try await Scenario.run(browser: .manual(), launcher: BrowserLauncher.none) { s in
            let gate = Gate()
            s.fake.update { $0.tokenGate = gate }
            let answers = Mutex<[BrokerTestClient.Reply]>([])
            let reply = try await Self.waitingSignIn(s) { redirect in
                async let first = Self.complete(s, redirect)
                // The code exchange is held at the token endpoint: the sign-in has its response.
                _ = await s.fake.waitForRequest(to: "/token", count: 1)
                let during = try await Self.complete(s, redirect)
                gate.open()
                let after = try await Self.complete(s, redirect)
                let answered = [try await first, during, after]
                answers.withLock { $0 = answered }
            }
            #expect(try reply.tokenResult().scopes == [Self.read])
            let (first, during, after) = answers.withLock { ($0[0], $0[1], $0[2]) }
            #expect(first.response.result != nil)
            #expect(during.reason == "authorization_failed")
            #expect(during.response.error?.message.hasPrefix("That sign-in already received its response") == true)
            #expect(after.reason == "authorization_failed")
            #expect(s.fake.tokenRequests(grantType: "authorization_code").count == 1)
        }
    }

    /// The authorization server's refusal, pasted, ends the sign-in for everyone waiting.
    @Test func aPastedRefusalFailsTheSignIn() async throws {
        try await Scenario.run({ $0.authorizeError = "access_denied" }, browser: .manual(), launcher: BrowserLauncher.none) { s in
            let completion = Mutex<BrokerTestClient.Reply?>(nil)
            let reply = try await Self.waitingSignIn(s) { redirect in
                let answer = try await Self.complete(s, redirect)
                completion.withLock { $0 = answer }
            }
            #expect(reply.reason == "authorization_failed")
            #expect(reply.response.error?.oauthError == "access_denied")
            let answer = try #require(completion.withLock { $0 })
            #expect(answer.reason == "authorization_failed")
            #expect(answer.response.error?.oauthError == "access_denied")
            #expect(s.fake.tokenRequests(grantType: "authorization_code").isEmpty)
        }
    }

    @Test func withNoSignInWaitingThereIsNothingToComplete() async throws {
        try await Scenario.run(browser: .manual(), launcher: BrowserLauncher.none) { s in
            let answer = try await Self.complete(s, "http://127.0.0.1:1/callback?code=c&state=s")
            #expect(answer.reason == "authorization_failed")
            let missing = try await s.client.call(.authorizationComplete, ["redirect": "x"])
            #expect(missing.reason == "invalid_params")
        }
    }
}
