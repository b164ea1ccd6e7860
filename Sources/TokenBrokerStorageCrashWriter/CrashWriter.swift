import Foundation
import TokenBrokerCore
import TokenBrokerStorage

/// Test helper for `TokenBrokerStorageTests` (the crash test), not shipped.
///
/// Usage: `TokenBrokerStorageCrashWriter DATABASE KEY_FILE RESOURCE ISSUER EXPECTED_REFRESH_TOKEN`
///
/// Opens the database for serving, starts one write transaction that rotates the
/// grant's tokens and appends an audit line (several statements), writes
/// `mid-transaction` on stdout, then blocks reading stdin. The test SIGKILLs it there.
/// If stdin closes instead, it rolls back and exits 2, so it never commits.
@main
struct CrashWriter {
    static let handshake = "mid-transaction\n"

    static func main() async {
        let arguments = CommandLine.arguments
        guard arguments.count == 6 else {
            fail("usage: TokenBrokerStorageCrashWriter DATABASE KEY_FILE RESOURCE ISSUER EXPECTED_REFRESH_TOKEN", status: 64)
        }
        do {
            guard let key = try StorageKey.read(path: arguments[2]) else { fail("no key file", status: 64) }
            let store = try BrokerStore.open(path: arguments[1], key: key)
            let resource = try ResourceURI(storedCanonical: arguments[3])
            let issuer = arguments[4]
            let expected = Secret(arguments[5])
            let now = Date()
            try await store.withImmediateTransaction { transaction in
                let rotation = TokenRotation(
                    accessToken: Secret("crash-writer-access-token"),
                    accessTokenExpiresAt: now.addingTimeInterval(3600),
                    refreshToken: Secret("crash-writer-refresh-token"),
                    grantedScopes: [],
                    rotatedAt: now)
                guard
                    try transaction.replaceTokens(
                        resource: resource, issuer: issuer, expectedRefreshToken: expected, with: rotation)
                else {
                    fail("the grant does not hold the expected refresh token", status: 3)
                }
                _ = try transaction.appendAudit(
                    AuditEntry(
                        at: now, peerUID: getuid(), peerPID: getpid(), method: "token/get",
                        resource: resource.string, outcome: .refreshed))
                // write(2) directly: no stdio buffer stands between us and the parent.
                FileHandle.standardOutput.write(Data(handshake.utf8))
                _ = FileHandle.standardInput.readDataToEndOfFile()
                throw StdinClosed()
            }
        } catch {
            fail("\(error)", status: 2)
        }
    }

    struct StdinClosed: Error, CustomStringConvertible {
        var description: String { "stdin closed before the parent killed us; rolled back" }
    }

    static func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(status)
    }
}
