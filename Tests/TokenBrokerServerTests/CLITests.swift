import Foundation
import Testing
import TokenBrokerProtocol
import TokenBrokerServer
import TokenBrokerSystem
import TokenBrokerTestKit

/// The built executables next to this test binary.
func executable(_ name: String) -> String {
    let testBinary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return (testBinary as NSString).deletingLastPathComponent + "/" + name
}

struct Run: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion, off the cooperative pool. Stdout is read to its end before
/// stderr, so stderr must stay under a pipe buffer (64 KiB); stdout may be any size.
func run(_ program: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Run {
    try await offThePool { try runBlocking(program, arguments, environment: environment) }
}

func runBlocking(_ program: String, _ arguments: [String], environment: [String: String]) throws -> Run {
    let process = try ChildProcess(
        executable: program, arguments: arguments,
        environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
        standardOutput: .pipe, standardError: .pipe)
    let stdout = process.standardOutput!.readDataToEndOfFile()
    let stderr = process.standardError!.readDataToEndOfFile()
    guard case .exited(let status) = process.waitBlocking() else {
        throw Killed(program: program)
    }
    return Run(status: status, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
}

private struct Killed: Error, CustomStringConvertible {
    var program: String
    var description: String { "\(program) ended by a signal" }
}

/// `tokenbroker`, the real binary against a real daemon on a temporary socket.
@Suite struct CLITests {
    let cli = executable("tokenbroker")

    @Test func statusOnAnEmptyBroker() async throws {
        try await TestDaemon(browser: .none).whileRunning { daemon in
            let text = try await run(cli, ["status", "--socket", daemon.socketPath])
            #expect(text.status == 0)
            #expect(text.stdout.hasPrefix("No grants yet."))
            let json = try await run(cli, ["status", "--json", "--socket", daemon.socketPath])
            #expect(json.status == 0)
            let parsed = try GrantsListResult(jsonValue: JSONValue(parsing: Array(json.stdout.utf8.dropLast())))
            #expect(parsed.grants.isEmpty)
        }
    }

    /// Without `--socket`, the CLI (and the library under it) finds the socket where the
    /// daemon does: `$TOKENBROKER_SOCKET`, else `$XDG_RUNTIME_DIR/tokenbroker/socket`.
    @Test func theSocketComesFromTheEnvironment() async throws {
        try await TestDaemon(browser: .none, allowHTTPLoopback: false).whileRunning { daemon in
            let fromVariable = try await run(cli, ["status"], environment: ["TOKENBROKER_SOCKET": daemon.socketPath])
            #expect(fromVariable.status == 0)
            #expect(fromVariable.stdout.hasPrefix("No grants yet."))
            // The fast path of `token` too: the daemon answers (it refuses plain http), so it was found.
            let token = try await run(cli, ["token", "http://example.com/mcp"], environment: ["TOKENBROKER_SOCKET": daemon.socketPath])
            #expect(token.status == 4)

            let runtime = try TemporaryDirectory()
            let elsewhere = try await run(
                cli, ["status"], environment: ["TOKENBROKER_SOCKET": "", "XDG_RUNTIME_DIR": runtime.path])
            #expect(elsewhere.status == 2)
            #expect(elsewhere.stderr.contains(runtime.path + "/tokenbroker/socket"))
        }
    }

    @Test func errorsAreOneLineWithDistinctExitStatuses() async throws {
        try await TestDaemon(browser: .none, allowHTTPLoopback: false).whileRunning { daemon in
            let badURL = try await run(cli, ["token", "http://example.com/mcp", "--socket", daemon.socketPath])
            #expect(badURL.status == 4)
            #expect(badURL.stdout.isEmpty)
            #expect(badURL.stderr.hasPrefix("tokenbroker: the resource URL uses plain http"))
            #expect(badURL.stderr.split(separator: "\n").count == 1)

            let missing = try await run(cli, ["status", "--socket", daemon.directory.path + "/nothing-here"])
            #expect(missing.status == 2)
            #expect(missing.stderr.contains("tokenbrokerd is not running"))
            #expect(missing.stderr.contains("systemctl --user start tokenbroker.socket"))

            let usage = try await run(cli, ["revoke", "--socket", daemon.socketPath])
            #expect(usage.status == 64)
            #expect(usage.stderr.contains("give either a resource URL or --all"))
        }
    }

    @Test func auditListsRequestsWithoutTokens() async throws {
        try await TestDaemon(browser: .none, allowHTTPLoopback: false).whileRunning { daemon in
            _ = try await run(cli, ["token", "http://example.com/mcp", "--socket", daemon.socketPath])
            let audit = try await run(cli, ["audit", "--json", "--socket", daemon.socketPath])
            #expect(audit.status == 0)
            let entries = try AuditListResult(jsonValue: JSONValue(parsing: Array(audit.stdout.utf8.dropLast()))).entries
            // Refused before any resource was touched: no audit line for a malformed request.
            #expect(entries.isEmpty)
        }
    }

    /// Golden help text, as swift-argument-parser's own tests do.
    @Test func helpText() async throws {
        let help = try await run(cli, ["token", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout == """
            OVERVIEW: Print an access token for an MCP server, and nothing else.

            For scripts: curl -H "Authorization: Bearer $(tokenbroker token
            https://mcp.example.com/mcp)" …
            Never opens a browser; when a sign-in is needed it fails (exit 3) and says how
            to sign in.

            USAGE: tokenbroker token [--socket <socket>] <resource> [--scope <scope> ...] [--min-valid-seconds <min-valid-seconds>] [--exact-scopes]

            ARGUMENTS:
              <resource>              The MCP server URL.

            OPTIONS:
              --socket <socket>       The daemon's socket (default: as tokenbrokerd
                                      resolves it).
              --scope <scope>         A scope the token must have (repeatable).
              --min-valid-seconds <min-valid-seconds>
                                      The token must stay valid this many seconds.
              --exact-scopes          A token of exactly the --scope scopes, not the
                                      grant's wider set.
              --version               Show the version.
              -h, --help              Show help information.


            """)

        let root = try await run(cli, ["--help"])
        #expect(root.status == 0)
        #expect(root.stdout == """
            OVERVIEW: See and manage the OAuth grants tokenbrokerd holds for your MCP
            servers.

            USAGE: tokenbroker [--socket <socket>] <subcommand>

            OPTIONS:
              --socket <socket>       The daemon's socket (default: as tokenbrokerd
                                      resolves it).
              --version               Show the version.
              -h, --help              Show help information.

            SUBCOMMANDS:
              status (default)        Show every grant: scopes requested and granted, token
                                      expiry, sign-ins waiting.
              login                   Sign in to an MCP server now, so clients find a token
                                      ready.
              token                   Print an access token for an MCP server, and nothing
                                      else.
              headers                 Print {"Authorization":"Bearer …"} for an MCP server:
                                      Claude Code's headersHelper.
              proxy                   Relay a stdio MCP host to a remote MCP server, with
                                      tokens from tokenbrokerd.
              revoke                  Revoke a grant at its authorization server and forget
                                      its tokens.
              audit                   Show which local programs got which tokens, and when.

              See 'tokenbroker help <subcommand>' for detailed help.

            """)

        let version = try await run(cli, ["--version"])
        #expect(version.stdout == TokenBrokerVersion.current + "\n")
    }

    /// The whole path a script takes: sign in once with `login`, then `token` prints the token.
    @Test(.enabled(if: interopPython != nil, "needs TOKENBROKER_INTEROP_PYTHON"))
    func loginThenTokenAgainstTheMCPPythonSDK() async throws {
        let fixture = try await MCPSDKFixture()
        let browser = ManualBrowser()
        let daemon = try await TestDaemon(browser: browser.launcher)
        let mcp = MCPTestClient(endpoint: fixture.resource)
        try await withTeardown {
            let needsLogin = try await run(cli, ["token", fixture.resource, "--socket", daemon.socketPath])
            #expect(needsLogin.status == 3)
            #expect(needsLogin.stderr.contains("tokenbroker login \(fixture.resource)"))

            let login = try await run(cli, ["login", fixture.resource, "--scope", "files:read", "--socket", daemon.socketPath])
            #expect(login.status == 0)
            #expect(login.stdout.hasPrefix("Signed in to \(fixture.resource)"))
            #expect(login.stderr.contains("Sign in to \(fixture.resource) in your browser:"))

            let token = try await run(cli, ["token", fixture.resource, "--scope", "files:read", "--socket", daemon.socketPath])
            #expect(token.status == 0)

            // A scope beyond the grant: the hint signs in for it, not for what is held already.
            let needsMore = try await run(cli, ["token", fixture.resource, "--scope", "files:write", "--socket", daemon.socketPath])
            #expect(needsMore.status == 3)
            #expect(needsMore.stderr.hasSuffix("run: tokenbroker login \(fixture.resource) --scope files:write\n"))
            let printed = token.stdout.trimmingCharacters(in: .newlines)
            #expect(try await mcp.initialize(token: printed).status == 200)

            let status = try await run(cli, ["status", "--socket", daemon.socketPath])
            #expect(status.stdout.contains(fixture.resource))
            #expect(status.stdout.contains("files:read"))
            #expect(!status.stdout.contains(printed))

            let revoke = try await run(cli, ["revoke", fixture.resource, "--socket", daemon.socketPath])
            #expect(revoke.stdout == "Revoked \(fixture.resource).\n")
        } teardown: {
            await mcp.shutdown()
            await daemon.stop()
            await browser.shutdown()
            await fixture.stop()
        }
    }

    /// Claude Code's headersHelper: one JSON object of headers on stdout, the URL from
    /// its environment, a sign-in started and waited for; on failure nothing on stdout.
    @Test(.enabled(if: interopPython != nil, "needs TOKENBROKER_INTEROP_PYTHON"))
    func headersForClaudeCodeAgainstTheMCPPythonSDK() async throws {
        let fixture = try await MCPSDKFixture()
        let browser = ManualBrowser()
        let mcp = MCPTestClient(endpoint: fixture.resource)
        var daemon: TestDaemon?
        // Everything is stopped on every path: a client dropped unstopped traps the test process.
        func stopAll() async {
            await daemon?.stop()
            await mcp.shutdown()
            await browser.shutdown()
            await fixture.stop()
        }
        do {
            let running = try await TestDaemon(browser: browser.launcher)
            daemon = running
            let environment = ["CLAUDE_CODE_MCP_SERVER_URL": fixture.resource]

            // The first call signs in (the test browser finishes it) within the wait; a long
            // one here, as a loaded machine may take more than the default 8 s to sign in.
            let first = try await run(cli, ["headers", "--wait", "120", "--socket", running.socketPath], environment: environment)
            try #require(first.status == 0, "\(first.stderr)")
            #expect(first.stderr.contains("sign in to \(fixture.resource) in your browser: http"))
            let object = try #require(try JSONValue(parsing: Array(first.stdout.utf8)).objectValue)
            #expect(Array(object.keys) == ["Authorization"])
            let header = try #require(object["Authorization"]?.stringValue)
            #expect(header.hasPrefix("Bearer ") && header.count > "Bearer ".count)
            #expect(first.stdout == #"{"Authorization":"\#(header)"}"# + "\n")
            #expect(browser.openedURLs.count == 1)

            // The server takes it.
            #expect(try await mcp.initialize(token: String(header.dropFirst("Bearer ".count))).status == 200)

            // Again: the same grant, no sign-in; the URL given as an argument works alike.
            let second = try await run(cli, ["headers", fixture.resource, "--socket", running.socketPath])
            #expect(second.status == 0)
            #expect(second.stdout == first.stdout)
            #expect(second.stderr.isEmpty)
            #expect(browser.openedURLs.count == 1)
        } catch {
            await stopAll()
            throw error
        }
        await stopAll()
    }

    /// When nobody signs in within --wait: exit 3, the login command, nothing on stdout.
    @Test func headersWithoutASignInSaysHowAndPrintsNothing() async throws {
        let fake = try await FakeOAuthServer.start()
        let daemon = try await TestDaemon(browser: .none)
        let waited = try await run(cli, ["headers", fake.resource, "--scope", "files:read", "--wait", "1", "--socket", daemon.socketPath])
        #expect(waited.status == 3)
        #expect(waited.stdout.isEmpty)
        #expect(waited.stderr.hasSuffix("run: tokenbroker login \(fake.resource) --scope files:read\n"))

        let noURL = try await run(cli, ["headers", "--socket", daemon.socketPath], environment: ["CLAUDE_CODE_MCP_SERVER_URL": ""])
        #expect(noURL.status == 64)
        #expect(noURL.stdout.isEmpty)
        #expect(noURL.stderr.contains("CLAUDE_CODE_MCP_SERVER_URL"))
        await daemon.stop()

        let absent = try await run(cli, ["headers", fake.resource, "--socket", daemon.socketPath + ".absent"])
        #expect(absent.status == 2)
        #expect(absent.stdout.isEmpty)
        #expect(absent.stderr.components(separatedBy: "\n").count == 2)  // one line
    }

    /// `tokenbroker proxy` runs tokenbroker-proxy: with no daemon, each request gets an
    /// error answer and stderr says once how to start it; a line that is not JSON gets a
    /// parse error and the bridge goes on; the end of input ends it.
    @Test func proxyWithoutADaemonAnswersEveryRequest() async throws {
        let directory = try TemporaryDirectory()
        let bridge = try ChildProcess(
            executable: cli,
            arguments: ["proxy", "https://mcp.example.com/mcp", "--socket", directory.path + "/absent.sock"],
            standardInput: .pipe, standardOutput: .pipe, standardError: .pipe)
        defer { bridge.send(signal: SIGKILL) }
        let lines = [
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
            "this is not json",
            #"{"jsonrpc":"2.0","id":"two","method":"tools/list"}"#,
        ]
        try bridge.standardInput!.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
        try bridge.standardInput!.close()
        let stdout = try await offThePool { String(decoding: bridge.standardOutput!.readDataToEndOfFile(), as: UTF8.self) }
        let stderr = try await offThePool { String(decoding: bridge.standardError!.readDataToEndOfFile(), as: UTF8.self) }
        #expect(await bridge.wait() == .exited(0))
        let answers = try stdout.split(separator: "\n").map { try JSONValue(parsing: Array($0.utf8)) }
        #expect(answers.map { $0["id"] } == [1, .null, "two"])
        #expect(answers.map { $0["error"]?["code"]?.integerValue } == [-32603, -32700, -32603])
        #expect(answers[0]["error"]?["data"]?["reason"] == "broker_unavailable")
        #expect(answers[0]["error"]?["message"]?.stringValue?.contains("tokenbrokerd is not running") == true)
        #expect(stderr.components(separatedBy: "\n").filter { $0.contains("tokenbrokerd is not running") }.count == 1)
    }

    /// Over SSH the browser runs on the person's own machine and cannot reach the
    /// daemon's loopback callback: `login --paste` takes the address the browser ended on
    /// from stdin.
    @Test func loginOverSSHTakesThePastedAddress() async throws {
        let fake = try await FakeOAuthServer.start()
        let daemon = try await TestDaemon(browser: .none)
        let browser = ManualBrowser.manual()
        let login = try ChildProcess(
            executable: cli,
            arguments: ["login", fake.resource, "--scope", "files:read", "--paste", "--wait", "60", "--socket", daemon.socketPath],
            standardInput: .pipe, standardOutput: .pipe, standardError: .pipe)
        // Should an expectation fail before the end, nothing is left waiting.
        defer { login.send(signal: SIGKILL) }
        let said = PipeLines(login.standardError!)
        let lines = await said.lines(through: "If the browser ends on a page that does not load")
        let signInURL = try #require(lines.first { $0.hasPrefix("  ") }).trimmingCharacters(in: .whitespaces)
        #expect(lines.first == "Sign in to \(fake.resource) in your browser:")
        // A mistyped paste is refused with one line, and the sign-in still waits.
        try login.standardInput!.write(contentsOf: Data("http://127.0.0.1:1/callback?code=x&state=nothing-waits\n".utf8))
        let refusal = await said.next().map { String(decoding: $0, as: UTF8.self) }
        #expect(refusal?.hasPrefix("tokenbroker: No sign-in in progress matches that address") == true)
        let redirect = try await browser.signIn(signInURL)
        try login.standardInput!.write(contentsOf: Data((redirect + "\n").utf8))
        let printed = try await offThePool { String(decoding: login.standardOutput!.readDataToEndOfFile(), as: UTF8.self) }
        #expect(printed == "Signed in to \(fake.resource) at \(fake.issuer) (files:read).\n")
        #expect(await login.wait() == .exited(0))
        #expect(fake.tokenRequests(grantType: "authorization_code").count == 1)
        await browser.shutdown()
        await daemon.stop()
        await fake.stop()
    }
}

extension CLITests {
    /// `login --device` on a machine with no browser: the code and where to type it, then
    /// the sign-in completes when the person approves on another device.
    @Test func loginWithADeviceCode() async throws {
        let fake = try await FakeOAuthServer.start { $0.deviceFlowEnabled = true }
        let clock = ManualClock()
        let daemon = try await TestDaemon(browser: .none, clock: clock)
        let login = try ChildProcess(
            executable: cli, arguments: ["login", fake.resource, "--scope", "files:read", "--device", "--socket", daemon.socketPath],
            standardInput: .pipe, standardOutput: .pipe, standardError: .pipe)
        defer { login.send(signal: SIGKILL) }
        let said = PipeLines(login.standardError!)
        let lines = await said.lines(through: "(or open")
        #expect(lines.first == "Sign in to \(fake.resource) on any device: open")
        #expect(lines.dropFirst().first == "  \(fake.origin)/activate")
        #expect(lines.dropFirst(2).first == "and enter the code")
        #expect(lines.dropFirst(3).first?.hasPrefix("  WDJB-MJH") == true)
        _ = await clock.sleeps.wait { $0.contains(5) }
        clock.advance(5)
        let printed = try await offThePool { String(decoding: login.standardOutput!.readDataToEndOfFile(), as: UTF8.self) }
        #expect(printed == "Signed in to \(fake.resource) at \(fake.issuer) (files:read).\n")
        #expect(await login.wait() == .exited(0))
        await daemon.stop()
        await fake.stop()
    }
}

/// The systemd user units, checked by systemd itself, and socket activation for real.
@Suite struct SystemdTests {
    let daemonBinary = executable("tokenbrokerd")

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "needs systemd-analyze (apt-get install systemd)"))
    func unitsVerify() async throws {
        let directory = try TemporaryDirectory()
        let home = directory.path + "/home"
        try FileManager.default.createDirectory(atPath: home + "/.local/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory.path + "/run", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: home + "/.local/bin/tokenbrokerd", withDestinationPath: daemonBinary)
        let verify = try await run(
            "/usr/bin/systemd-analyze",
            ["verify", "--user", repositoryRoot + "/systemd/tokenbroker.socket", repositoryRoot + "/systemd/tokenbroker.service"],
            environment: ["HOME": home, "XDG_RUNTIME_DIR": directory.path + "/run"])
        #expect(verify.status == 0, "\(verify.stderr)")
        #expect(verify.stderr.isEmpty)
    }

    /// The service unit's sandbox, as `systemd-analyze security` scores it (8.1 "exposed"
    /// before the hardening of issue 11; a lower number is safer).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "needs systemd-analyze (apt-get install systemd)"))
    func theServiceIsSandboxed() async throws {
        let report = try await run(
            "/usr/bin/systemd-analyze", ["security", "--offline=yes", "--no-pager", repositoryRoot + "/systemd/tokenbroker.service"])
        let overall = try #require(report.stdout.split(separator: "\n").first { $0.contains("Overall exposure level") })
        let score = try #require(overall.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) })
        #expect(score <= 2.0, "\(overall)")
        for setting in [
            "SystemCallFilter=~@", "CapabilityBoundingSet=", "RestrictNamespaces=", "PrivateDevices=", "ProtectKernelTunables=",
            "ProtectKernelModules=", "ProtectKernelLogs=", "ProtectControlGroups=", "ProtectClock=", "ProtectHostname=",
            "KeyringMode=",
        ] {
            let line = report.stdout.split(separator: "\n").first { $0.contains(setting) }
            #expect(line?.hasPrefix("✓") == true, "\(setting): \(line ?? "not reported")")
        }
        let unit = try String(contentsOfFile: repositoryRoot + "/systemd/tokenbroker.service", encoding: .utf8)
        for line in ["LimitCORE=0", "Environment=SWIFT_BACKTRACE=enable=no", "RemoveIPC=yes", "TasksMax=", "MemoryMax=", "LimitNOFILE="] {
            #expect(unit.contains(line), "\(line) missing")
        }
    }

    /// The unit's `MemoryDenyWriteExecute=yes`, as systemd applies it on Linux 6.3 and
    /// later (prctl `PR_SET_MDWE`, kept across exec): no page may become writable and
    /// executable. The daemon signs in, steps up and refreshes under it; the probe shows
    /// the kernel really refuses a writable and executable mapping.
    @Test(.enabled(if: kernelDeniesWriteExecuteOnRequest, "the kernel does not deny write+execute mappings on request (prctl PR_SET_MDWE)"))
    func theDaemonWorksUnderMemoryDenyWriteExecute() async throws {
        let results = try TemporaryDirectory()
        let report = try await run(
            "/usr/bin/env",
            [
                "python3", repositoryRoot + "/Tests/Conformance/report.py", "--daemon", daemonBinary, "--memory-deny-write-execute",
                "--scenario", "auth/scope-step-up", "--scenario", "tokenbroker/refresh-rotation", "--results", results.path,
            ])
        #expect(report.status == 0, "\(report.stdout)\(report.stderr)")
        #expect(report.stdout.contains("3/3 scenario runs passed"))
    }

    /// `systemd-socket-activate` holds the socket; the first connection starts the
    /// daemon, which adopts the socket and answers.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-socket-activate"), "needs systemd-socket-activate (apt-get install systemd)"))
    func firstConnectionActivatesTheDaemon() async throws {
        let directory = try TemporaryDirectory()
        let socket = directory.path + "/socket"
        let process = try ChildProcess(
            executable: "/usr/bin/systemd-socket-activate",
            arguments: ["--listen=\(socket)", daemonBinary, "--database", directory.path + "/broker.sqlite3", "--socket", socket],
            standardError: .pipe)
        defer {
            process.send(signal: SIGTERM)
            _ = process.waitBlocking()
        }
        // systemd-socket-activate says when it listens; no daemon runs yet.
        let handle = process.standardError!
        let said = try await offThePool {
            var said = ""
            while !said.contains("Listening on") {
                let chunk = handle.availableData
                guard !chunk.isEmpty else { break }
                said += String(decoding: chunk, as: UTF8.self)
            }
            return said
        }
        #expect(said.contains("Listening on"))
        let reply = try await BrokerTestClient(socketPath: socket).call(.brokerInfo)
        let info = try BrokerInfo(jsonValue: try #require(reply.response.result))
        #expect(info.pid != Int(getpid()))
        #expect(info.database == directory.path + "/broker.sqlite3")
    }
}

/// Whether this kernel has `PR_SET_MDWE` and, once it is set, refuses a mapping that is
/// both writable and executable (what MemoryDenyWriteExecute= relies on).
private let kernelDeniesWriteExecuteOnRequest: Bool = {
    let probe = """
        import ctypes, mmap, sys
        if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0: sys.exit(2)
        try: mmap.mmap(-1, 4096, prot=mmap.PROT_WRITE | mmap.PROT_EXEC)
        except PermissionError: sys.exit(0)
        sys.exit(1)
        """
    return (try? runBlocking("/usr/bin/env", ["python3", "-c", probe], environment: [:]))?.status == 0
}()
