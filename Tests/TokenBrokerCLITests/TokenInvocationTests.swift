import ArgumentParser
import Testing

@testable import tokenbroker

/// `tokenbroker token` skips swift-argument-parser for its plain shapes; these tests hold
/// that shortcut to the parser's reading of the same command line.
@Suite struct TokenInvocationTests {
    static let recognised: [[String]] = [
        ["token", "https://mcp.example.com/mcp"],
        ["token", "https://mcp.example.com/mcp", "--scope", "files:read", "--scope=files:write"],
        ["token", "--scope", "files:read", "https://mcp.example.com/mcp", "--min-valid-seconds", "120"],
        ["token", "https://mcp.example.com/mcp", "--socket=/run/user/1000/tokenbroker/socket", "--min-valid-seconds=0"],
        ["token", "--socket", "/tmp/s", "http://127.0.0.1:8000/mcp", "--scope", "a=b"],
        ["token", "https://mcp.example.com/mcp", "--min-valid-seconds", "+5"],
        ["token", "https://mcp.example.com/mcp", "--scope", "files:read", "--exact-scopes"],
        ["--socket", "/tmp/s", "token", "https://mcp.example.com/mcp"],
        ["--socket=/tmp/s", "token", "https://mcp.example.com/mcp", "--scope", "files:read"],
    ]

    @Test(arguments: recognised)
    func readsWhatTheParserReads(_ arguments: [String]) throws {
        let fast = try #require(TokenInvocation(arguments: arguments))
        let parsed = try #require(try TokenBrokerCommand.parseAsRoot(arguments) as? TokenBrokerCommand.Token)
        #expect(fast == parsed.invocation)
    }

    static let recognisedHeaders: [[String]] = [
        ["headers"],
        ["headers", "https://mcp.example.com/mcp", "--wait", "5"],
        ["headers", "--scope", "files:read", "--wait=3", "--socket", "/tmp/s"],
        ["--socket", "/tmp/s", "headers", "--min-valid-seconds", "60"],
        ["headers", "--exact-scopes", "https://mcp.example.com/mcp", "--scope", "files:read"],
    ]

    /// `tokenbroker headers` (Claude Code runs it at every connect) takes the same shortcut.
    @Test(arguments: recognisedHeaders)
    func headersReadsWhatTheParserReads(_ arguments: [String]) throws {
        let fast = try #require(TokenInvocation(arguments: arguments))
        let parsed = try #require(try TokenBrokerCommand.parseAsRoot(arguments) as? TokenBrokerCommand.Headers)
        #expect(fast == parsed.invocation)
        #expect(fast.output == .headers)
    }

    @Test func readsEveryPart() throws {
        let fast = try #require(TokenInvocation(arguments: [
            "token", "--scope", "files:read", "https://mcp.example.com/mcp", "--scope=files:write", "--min-valid-seconds", "90",
            "--socket", "/tmp/s",
        ]))
        #expect(fast == TokenInvocation(
            resource: "https://mcp.example.com/mcp", scopes: ["files:read", "files:write"], minValidSeconds: 90, socket: "/tmp/s"))
    }

    /// Help, mistakes and unusual spellings go to the full parser, which explains them.
    static let leftToTheParser: [[String]] = [
        [],
        ["status"],
        ["token"],
        ["token", "--help"],
        ["token", "-h"],
        ["token", "https://mcp.example.com/mcp", "--help"],
        ["token", "https://mcp.example.com/mcp", "--scope"],
        ["token", "https://mcp.example.com/mcp", "--scope="],
        ["token", "https://mcp.example.com/mcp", "--scope", "-x"],
        ["token", "https://mcp.example.com/mcp", "https://other.example.com/mcp"],
        ["token", "https://mcp.example.com/mcp", "--min-valid-seconds", "soon"],
        ["token", "https://mcp.example.com/mcp", "--min-valid-seconds", "-1"],
        ["token", "https://mcp.example.com/mcp", "--min-valid-seconds", "1", "--min-valid-seconds", "2"],
        ["token", "https://mcp.example.com/mcp", "--socket", "/a", "--socket", "/b"],
        ["token", "https://mcp.example.com/mcp", "--interactive"],
        ["token", "https://mcp.example.com/mcp", "--exact-scopes", "--exact-scopes"],
        ["token", "--", "https://mcp.example.com/mcp"],
        ["token", ""],
        ["--socket", "/a", "token", "https://mcp.example.com/mcp", "--socket", "/b"],
        ["--socket", "token", "https://mcp.example.com/mcp"],
        ["--socket="],
        ["--json", "token", "https://mcp.example.com/mcp"],
        ["help", "token"],
        ["token", "https://mcp.example.com/mcp", "--wait", "5"],
        ["headers", "--wait", "soon"],
        ["headers", "--help"],
        ["headers", "https://a.example/mcp", "https://b.example/mcp"],
    ]

    @Test(arguments: leftToTheParser)
    func leavesTheRestToTheParser(_ arguments: [String]) {
        #expect(TokenInvocation(arguments: arguments) == nil)
    }

    @Test func aSocketBeforeTheCommandApplies() throws {
        let parsed = try #require(
            try TokenBrokerCommand.parseAsRoot(["--socket", "/tmp/s", "token", "https://mcp.example.com/mcp"])
                as? TokenBrokerCommand.Token)
        #expect(parsed.invocation.socket == "/tmp/s")
        let status = try #require(try TokenBrokerCommand.parseAsRoot(["--socket", "/tmp/s"]) as? TokenBrokerCommand.Status)
        #expect(status.root.options.socket == "/tmp/s")
    }

    @Test func aSocketAfterTheCommandWins() throws {
        let parsed = try #require(
            try TokenBrokerCommand.parseAsRoot(["--socket", "/tmp/a", "token", "https://mcp.example.com/mcp", "--socket", "/tmp/b"])
                as? TokenBrokerCommand.Token)
        #expect(parsed.invocation.socket == "/tmp/b")
    }
}

@Suite struct WaitingIndicatorTests {
    @Test func countsTheWaitInSecondsThenMinutes() {
        #expect(WaitingIndicator.line(waited: 7, frame: 0).hasPrefix("⠋ Waiting for the sign-in… 7s ("))
        #expect(WaitingIndicator.line(waited: 65, frame: 1).hasPrefix("⠙ Waiting for the sign-in… 1m 05s ("))
        #expect(WaitingIndicator.line(waited: 600, frame: 10).hasPrefix("⠋ Waiting for the sign-in… 10m 00s ("))
    }
}

@Suite struct LoginPasteTests {
    /// Pasting is the default only over SSH and from a terminal.
    @Test func pastesByDefaultOnlyOverSSHOnATerminal() {
        typealias Login = TokenBrokerCommand.Login
        #expect(Login.pastesByDefault(overSSH: true, inputIsTerminal: true))
        #expect(!Login.pastesByDefault(overSSH: true, inputIsTerminal: false))
        #expect(!Login.pastesByDefault(overSSH: false, inputIsTerminal: true))
    }

    @Test(arguments: [(["--paste"], true), (["--no-paste"], false), ([], nil)] as [([String], Bool?)])
    func theFlagOverridesTheDefaultBothWays(flags: [String], paste: Bool?) throws {
        let parsed = try TokenBrokerCommand.parseAsRoot(["login", "https://mcp.example.com/mcp"] + flags)
        #expect(try #require(parsed as? TokenBrokerCommand.Login).paste == paste)
    }
}
