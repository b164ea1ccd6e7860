import Foundation
import TokenBrokerProtocol
import TokenBrokerStorage

/// tokenbrokerd, foundation stage: resolves its paths as the contract says, opens (and
/// locks) the database on its embedded defaults, and holds it until SIGTERM/SIGINT.
/// The socket server arrives with the daemon issue.
@main
struct TokenBrokerDaemon {
    static func main() {
        let environment = ProcessInfo.processInfo.environment
        let home = environment["HOME"] ?? NSHomeDirectory()
        let socket = BrokerPaths.socket(flag: nil, environment: environment, userID: getuid())
        let database = BrokerPaths.database(flag: nil, environment: environment, homeDirectory: home)
        do {
            let store = try BrokerStore.open(path: database.path)
            FileHandle.standardError.write(Data("tokenbrokerd: database \(database.path) (socket will be \(socket.path)); waiting for SIGTERM\n".utf8))
            var signals = sigset_t()
            sigemptyset(&signals)
            sigaddset(&signals, SIGTERM)
            sigaddset(&signals, SIGINT)
            sigprocmask(SIG_BLOCK, &signals, nil)
            var received: Int32 = 0
            sigwait(&signals, &received)
            try store.close()
        } catch {
            FileHandle.standardError.write(Data("tokenbrokerd: \(error)\n".utf8))
            exit(1)
        }
    }
}
