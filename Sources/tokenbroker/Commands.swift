import ArgumentParser
import TokenBrokerClient
import TokenBrokerProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

extension TokenBrokerCommand {
    struct Token: BrokerCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an access token for an MCP server, and nothing else.",
            discussion: """
                For scripts: curl -H "Authorization: Bearer $(tokenbroker token https://mcp.example.com/mcp)" …
                Never opens a browser; when a sign-in is needed it fails (exit 3) and says how to sign in.
                """)

        @OptionGroup var options: GlobalOptions
        @ParentCommand var root: TokenBrokerCommand
        @Argument(help: "The MCP server URL.") var resource: String
        @Option(name: .customLong("scope"), help: "A scope the token must have (repeatable).") var scopes: [String] = []
        @Option(help: "The token must stay valid this many seconds.") var minValidSeconds: Int?

        /// What the fast path would have read from the same command line.
        var invocation: TokenInvocation {
            TokenInvocation(
                resource: resource, scopes: scopes, minValidSeconds: minValidSeconds, socket: options.socket ?? root.options.socket)
        }

        func run() {
            invocation.run()
        }
    }

    struct Login: BrokerCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign in to an MCP server now, so clients find a token ready.",
            discussion: "Prints the sign-in URL while it waits, in case no browser opens.")

        @OptionGroup var options: GlobalOptions
        @ParentCommand var root: TokenBrokerCommand
        @Argument(help: "The MCP server URL.") var resource: String
        @Option(name: .customLong("scope"), help: "A scope to ask for (repeatable).") var scopes: [String] = []
        @Option(help: "How long to wait for the sign-in, in seconds.") var wait: Int = 600

        func run() throws {
            let params = TokenGetParams(
                resource: resource, scopes: scopes, interactive: true, waitSeconds: wait, application: "tokenbroker login")
            // On a terminal, a line that counts the wait; in a pipe, only the URL.
            let progress = isatty(STDERR_FILENO) == 1 ? WaitingIndicator() : nil
            do {
                let result: TokenGetResult
                do {
                    defer { progress?.finish() }
                    result = try client.callBlocking(
                        JSONRPCRequest(id: 1, method: .tokenGet, params: params),
                        onAuthorizationPending: { pending in
                            progress?.finish()  // a second sign-in (a step-up) gets lines of its own
                            writeStandardError("Sign in to \(pending.resource) in your browser:\n  \(pending.authorizationURL)\n")
                            progress?.start()
                        },
                        whileWaiting: progress.map { indicator in { indicator.tick() } })
                }
                let scopes = result.scopes.isEmpty ? "no particular scope" : result.scopes.joined(separator: " ")
                print("Signed in to \(result.resource) at \(result.issuer) (\(scopes)).")
            } catch {
                fail(error)
            }
        }
    }

    struct Revoke: BrokerCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a grant at its authorization server and forget its tokens.")

        @OptionGroup var options: GlobalOptions
        @ParentCommand var root: TokenBrokerCommand
        @Argument(help: "The MCP server URL.") var resource: String?
        @Flag(help: "Revoke every grant.") var all = false

        func validate() throws {
            guard (resource == nil) != !all else {
                throw ValidationError("give either a resource URL or --all")
            }
        }

        func run() throws {
            let params: GrantsRevokeParams = all ? .all : .resource(resource!)
            do {
                let result: GrantsRevokeResult = try client.callBlocking(
                    JSONRPCRequest(id: 1, method: .grantsRevoke, params: params))
                if result.revoked.isEmpty { print("Nothing to revoke.") }
                for grant in result.revoked {
                    switch grant.remote {
                    case .revoked: print("Revoked \(grant.resource).")
                    case .unsupported: print("Forgot the tokens of \(grant.resource) (its server offers no revocation).")
                    default: print("Forgot the tokens of \(grant.resource); the server could not revoke them (\(grant.remote)).")
                    }
                }
            } catch {
                fail(error)
            }
        }
    }

    struct Status: BrokerCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show every grant: scopes requested and granted, token expiry, sign-ins waiting.")

        @OptionGroup var options: GlobalOptions
        @ParentCommand var root: TokenBrokerCommand
        @Flag(help: "Print the daemon's JSON (grants/list) for scripts.") var json = false

        func run() throws {
            do {
                let list: JSONValue = try client.callBlocking(JSONRPCRequest(id: 1, method: .grantsList))
                if json {
                    print(list.serializedString)
                    return
                }
                let grants = try decoded { () throws(WireFormatError) in try GrantsListResult(jsonValue: list).grants }
                print(StatusTable.render(grants, now: Date()), terminator: "")
            } catch {
                fail(error)
            }
        }
    }

    struct Audit: BrokerCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show which local programs got which tokens, and when.")

        @OptionGroup var options: GlobalOptions
        @ParentCommand var root: TokenBrokerCommand
        @Option(help: "How many entries, newest first.") var limit: Int = AuditListParams.defaultLimit
        @Flag(help: "Print JSON for scripts.") var json = false

        func run() throws {
            do {
                let value: JSONValue = try client.callBlocking(
                    JSONRPCRequest(id: 1, method: .auditList, params: AuditListParams(limit: limit)))
                if json {
                    print(value.serializedString)
                    return
                }
                let entries = try decoded { () throws(WireFormatError) in try AuditListResult(jsonValue: value).entries }
                print(StatusTable.renderAudit(entries), terminator: "")
            } catch {
                fail(error)
            }
        }
    }
}

/// Reads a result, reporting a malformed one as the daemon's protocol error.
func decoded<Value>(_ read: () throws(WireFormatError) -> Value) throws(BrokerClientError) -> Value {
    do {
        return try read()
    } catch {
        throw .protocolViolation("\(error)")
    }
}
