public import TokenBrokerProtocol

/// Why a call to the broker failed.
public enum BrokerClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing listens on the socket: the daemon is not running.
    case daemonNotRunning(path: String)
    /// The socket exists but could not be used.
    case connectionFailed(path: String, reason: String)
    /// The daemon closed the connection before answering.
    case connectionClosed
    /// The daemon sent something that is not the protocol.
    case protocolViolation(String)
    /// The daemon answered with an error; `error.reason` is the stable reason string.
    case rpc(RPCError)

    public var description: String {
        switch self {
        case .daemonNotRunning(let path):
            "tokenbrokerd is not running (nothing listens on \(path)); start it with `systemctl --user start tokenbroker.socket` or `tokenbrokerd`"
        case .connectionFailed(let path, let reason):
            "cannot connect to tokenbrokerd at \(path): \(reason)"
        case .connectionClosed:
            "tokenbrokerd closed the connection before answering"
        case .protocolViolation(let problem):
            "tokenbrokerd's answer could not be read: \(problem)"
        case .rpc(let error):
            error.message
        }
    }

    /// The daemon's reason (`authorization_required`, …), when it answered with an error.
    public var reason: RPCErrorReason? {
        if case .rpc(let error) = self { return error.reason }
        return nil
    }
}
