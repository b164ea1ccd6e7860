public import TokenBrokerProtocol

/// Why a call to the daemon failed: it is not running, the connection failed or closed,
/// its answer could not be read, or it answered with an error (``reason`` then names it).
///
/// A struct over a ``Code``, not an enum: a later version can add kinds of failure
/// without breaking a client that switches over them.
public struct BrokerClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure; compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String

        private init(_ name: String) {
            self.name = name
        }

        /// Nothing listens on the socket: the daemon is not running.
        public static let daemonNotRunning = Code("daemon not running")
        /// The socket exists but could not be used.
        public static let connectionFailed = Code("connection failed")
        /// The daemon closed the connection before answering.
        public static let connectionClosed = Code("connection closed")
        /// The daemon sent something that is not the protocol.
        public static let protocolViolation = Code("protocol violation")
        /// The daemon answered with an error (see ``BrokerClientError/rpcError``).
        public static let rpc = Code("error response")

        public var description: String { name }
    }

    /// The kind of failure.
    public let code: Code
    /// The socket path, for ``Code/daemonNotRunning`` and ``Code/connectionFailed``.
    public let path: String?
    /// The daemon's error, for ``Code/rpc``.
    public let rpcError: RPCError?
    /// What went wrong, in a sentence for a person.
    public let description: String

    private init(code: Code, path: String? = nil, rpcError: RPCError? = nil, description: String) {
        self.code = code
        self.path = path
        self.rpcError = rpcError
        self.description = description
    }

    /// The daemon's reason (`authorization_required`, …), when it answered with an error.
    public var reason: RPCErrorReason? { rpcError?.reason }

    package static func daemonNotRunning(path: String) -> BrokerClientError {
        BrokerClientError(
            code: .daemonNotRunning, path: path,
            description: "tokenbrokerd is not running (nothing listens on \(path)); start it with `systemctl --user start tokenbroker.socket` or `tokenbrokerd`")
    }

    package static func connectionFailed(path: String, reason: String) -> BrokerClientError {
        BrokerClientError(code: .connectionFailed, path: path, description: "cannot connect to tokenbrokerd at \(path): \(reason)")
    }

    package static let connectionClosed = BrokerClientError(
        code: .connectionClosed, description: "tokenbrokerd closed the connection before answering")

    package static func protocolViolation(_ problem: String) -> BrokerClientError {
        BrokerClientError(code: .protocolViolation, description: "tokenbrokerd's answer could not be read: \(problem)")
    }

    package static func rpc(_ error: RPCError) -> BrokerClientError {
        BrokerClientError(code: .rpc, rpcError: error, description: error.message)
    }
}
