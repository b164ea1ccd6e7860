/// One line a client sent, classified by the daemon.
///
/// Classification never fails: a line that is not a usable request becomes
/// ``invalid(_:)`` with the error response to send back, as JSON-RPC 2.0 and the
/// contract prescribe.
public enum ClientMessage: Sendable, Hashable, CustomStringConvertible {
    /// A call: answer it with a response carrying its id.
    case request(JSONRPCRequest)
    /// A message without an id: never answered. tokenbroker defines none from clients,
    /// so the daemon ignores them.
    case notification(JSONRPCNotification)
    /// Not a usable request: send this error response.
    case invalid(JSONRPCResponse)

    /// Classifies one line.
    ///
    /// - Not JSON (including invalid UTF-8): `-32700 parse_error`, id `null`.
    /// - A JSON array (a batch, even an empty one): `-32600 invalid_request`, id `null`.
    /// - Not an object, `jsonrpc` other than `"2.0"`, `method` not a string, `params`
    ///   neither object nor array, `id` neither integer nor string: `-32600
    ///   invalid_request`, with the id when it could be read, else `null`.
    ///
    /// Unknown members are ignored. Params are not checked here: the method handler
    /// reads them with ``BrokerParams/init(params:)``.
    ///
    /// - Parameter line: The line's bytes, without the terminating `\n`.
    public init(line: some Collection<UInt8>) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: line)
        } catch {
            self = .invalid(JSONRPCResponse(id: nil, error: .parseError(error)))
            return
        }
        if case .array = value {
            self = .invalid(JSONRPCResponse(id: nil, error: .batchNotSupported))
            return
        }
        do {
            let envelope = try RequestEnvelope.read(value)
            if let id = envelope.id {
                self = .request(JSONRPCRequest(id: id, method: envelope.method, params: envelope.params))
            } else {
                self = .notification(JSONRPCNotification(method: envelope.method, params: envelope.params))
            }
        } catch {
            let message = "Invalid request: \(error.error.sentence(subject: "the message")); send a JSON-RPC 2.0 request object."
            self = .invalid(JSONRPCResponse(id: error.id, error: .invalidRequest(message)))
        }
    }

    /// The message as JSON, tokens redacted.
    public var description: String {
        switch self {
        case .request(let request): request.description
        case .notification(let notification): notification.description
        case .invalid(let response): response.description
        }
    }
}

/// One line the daemon sent, as a client reads it.
public enum BrokerMessage: Sendable, Hashable, CustomStringConvertible {
    /// The answer to one of the client's requests, matched by id.
    case response(JSONRPCResponse)
    /// A notification such as ``BrokerMethod/authorizationPending``.
    case notification(JSONRPCNotification)

    /// Reads one line.
    ///
    /// A message with `method` is a notification; one with `result` or `error` is a
    /// response. Unknown members are ignored.
    ///
    /// - Parameter line: The line's bytes, without the terminating `\n`.
    /// - Throws: ``WireFormatError`` when the line is not JSON or not such a message.
    public init(line: some Collection<UInt8>) throws(WireFormatError) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: line)
        } catch {
            throw WireFormatError(field: "", problem: "is not valid JSON (\(error))")
        }
        if value["method"] != nil, value["id"] == nil {
            self = .notification(try JSONRPCNotification(jsonValue: value))
        } else {
            self = .response(try JSONRPCResponse(jsonValue: value))
        }
    }

    /// The message as JSON, tokens redacted.
    public var description: String {
        switch self {
        case .response(let response): response.description
        case .notification(let notification): notification.description
        }
    }
}
