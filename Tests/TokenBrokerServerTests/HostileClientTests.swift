import Foundation
import Testing
import TokenBrokerProtocol
import TokenBrokerServer

/// Local clients that send absurd but well-formed requests: each gets bounded work, and the
/// daemon keeps serving everyone else.
@Suite(.timeLimit(.minutes(2))) struct HostileClientTests {
    /// `waitSeconds` of Int.max for a sign-in nobody finishes once trapped converting the
    /// wait to a `Duration`, taking every connection and pending sign-in with it. Now it is
    /// refused by name; the longest wait allowed still leaves the daemon serving.
    @Test func anAbsurdWaitLeavesTheDaemonServing() async throws {
        let fake = try await FakeOAuthServer.start()
        try await TestDaemon(browser: .none).whileRunning { daemon in
            let (pending, announce) = AsyncStream.makeStream(of: String.self)
            let client = daemon.client()
            let absurd = try await client.call(.tokenGet, ["resource": .string(fake.resource), "waitSeconds": .integer(Int.max)])
            #expect(absurd.reason == "invalid_params")
            #expect(absurd.response.error?.message.contains("waitSeconds") == true)
            let waiting = Task {
                try await client.call(
                    .tokenGet, ["resource": .string(fake.resource), "waitSeconds": .integer(TokenGetParams.longestSeconds)],
                    onNotification: { notification in announce.yield(notification.method.rawValue) })
            }
            // The daemon is waiting for the sign-in once it has said so.
            var notifications = pending.makeAsyncIterator()
            #expect(await notifications.next() == "authorization/pending")
            let info = try await client.call(.brokerInfo)
            #expect(info.response.error == nil)
            #expect(try await client.call(.tokenGet, ["resource": .string(fake.resource), "interactive": false]).reason
                == "authorization_required")
            waiting.cancel()
        }
    }
}
