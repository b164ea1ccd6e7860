package import TokenBrokerClient
package import TokenBrokerProtocol

/// Why the bridge could not relay a message, and the JSON-RPC error the host gets for it.
///
/// The daemon's own errors (`scope_unattainable`, `authorization_failed`, …) reach the host
/// as the daemon wrote them; the bridge's own failures are `-32603` with a `data.reason`
/// a host can match, and a message that says what happened and never carries a token.
package enum BridgeFailure: Error, Sendable {
    /// The daemon could not be asked, or refused a token.
    case broker(BrokerClientError)
    /// The server could not be reached, or the connection broke before an answer.
    case unreachable(String)
    /// The server answered with an HTTP status that is no MCP answer.
    case status(Int, detail: String?)
    /// The server refused the token the daemon gave after its challenge.
    case tokenRefused(status: Int)
    /// The server's answer is not JSON-RPC.
    case malformedAnswer(String)
    /// The server's stream ended before it answered.
    case streamEnded
    /// The server no longer knows the MCP session (404 with `Mcp-Session-Id`).
    case sessionGone
    /// The server redirected to another origin, where the token must not go.
    case crossOriginRedirect(String)

    /// The `data.reason` of the bridge's own errors.
    var reason: String {
        switch self {
        case .broker: "broker_unavailable"
        case .unreachable: "server_unreachable"
        case .status: "server_error"
        case .tokenRefused: "token_refused"
        case .malformedAnswer: "malformed_answer"
        case .streamEnded: "stream_ended"
        case .sessionGone: "session_gone"
        case .crossOriginRedirect: "cross_origin_redirect"
        }
    }

    /// What a person reads: the cause, in a sentence.
    package var message: String {
        switch self {
        case .broker(let error): error.description
        case .unreachable(let problem): "the MCP server could not be reached: \(problem)"
        case .status(let status, let detail):
            "the MCP server answered HTTP \(status)" + (detail.map { ": \($0)" } ?? "")
        case .tokenRefused(let status):
            "the MCP server refused the token tokenbrokerd gave after its challenge (HTTP \(status)); see `tokenbroker status`"
        case .malformedAnswer(let problem): "the MCP server's answer is not JSON-RPC: \(problem)"
        case .streamEnded: "the MCP server's stream ended before it answered"
        case .sessionGone:
            "the MCP server ended the session (HTTP 404 for its Mcp-Session-Id); restart this server in your MCP host"
        case .crossOriginRedirect(let location):
            "the MCP server redirected to another origin (\(location)); not following with the token"
        }
    }

    /// The JSON-RPC `error` object for the host.
    package var errorObject: JSONValue {
        if case .broker(let brokerError) = self, let error = brokerError.rpcError { return error.jsonValue }
        var data: [String: JSONValue] = ["reason": .string(reason)]
        switch self {
        case .status(let status, _), .tokenRefused(let status): data["status"] = .integer(status)
        default: break
        }
        return ["code": .integer(RPCErrorCode.internalError.rawValue), "message": .string(message), "data": .object(data)]
    }
}

extension HostOutput {
    /// Answers request `id` with `failure`; the first time the daemon is missing, says so
    /// on stderr too (with the command that starts it).
    package func write(errorFor id: JSONValue, failure: BridgeFailure) {
        if case .broker(let error) = failure, error.code == .daemonNotRunning, reportDaemonAbsenceOnce() {
            diagnose(failure.message)
        }
        let answer: JSONValue = ["jsonrpc": "2.0", "id": id, "error": failure.errorObject]
        write(message: answer.serialized())
    }
}
