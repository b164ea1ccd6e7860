/// A JSON-RPC 2.0 request: a call that expects a response carrying the same ``id``.
public struct JSONRPCRequest: Sendable, Hashable, JSONValueConvertible, CustomStringConvertible {
    /// Echoed in the response; unique among the connection's outstanding requests.
    public var id: JSONRPCID
    /// The method to call.
    public var method: BrokerMethod
    /// The params, `nil` when absent; an object or an array.
    public var params: JSONValue?

    /// Creates a request.
    ///
    /// - Parameters:
    ///   - id: Echoed in the response.
    ///   - method: The method to call.
    ///   - params: The params, an object or an array, or `nil` for none.
    public init(id: JSONRPCID, method: BrokerMethod, params: JSONValue? = nil) {
        self.id = id
        self.method = method
        self.params = params
    }

    /// Creates a request with typed params.
    ///
    /// - Parameters:
    ///   - id: Echoed in the response.
    ///   - method: The method to call.
    ///   - params: The params.
    public init(id: JSONRPCID, method: BrokerMethod, params: some BrokerParams) {
        self.init(id: id, method: method, params: params.jsonValue)
    }

    /// Reads a request, for example one a test captured.
    ///
    /// - Parameter jsonValue: The request object.
    /// - Throws: ``WireFormatError`` when it is not a JSON-RPC 2.0 request with an id.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let envelope = try RequestEnvelope(jsonValue)
        guard let id = envelope.id else { throw .missing("id") }
        self.init(id: id, method: envelope.method, params: envelope.params)
    }

    /// `{"jsonrpc": "2.0", "id", "method", "params"?}`.
    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = ["jsonrpc": "2.0", "id": id.jsonValue, "method": .string(method.rawValue)]
        if let params { members["params"] = params }
        return .object(members)
    }

    /// The request as one line: UTF-8 JSON ending in `\n`, with no other newline.
    public func encodedLine() -> [UInt8] {
        JSONRPCLine.encode(["jsonrpc": "2.0", "id": id.jsonValue, "method": .string(method.rawValue), "params": params])
    }

    /// The request as JSON, tokens redacted.
    public var description: String { jsonValue.description }
}

/// A JSON-RPC 2.0 notification: a message without an id that gets no response.
///
/// The daemon sends ``BrokerMethod/authorizationPending``; notifications from clients
/// are read and ignored.
public struct JSONRPCNotification: Sendable, Hashable, JSONValueConvertible, CustomStringConvertible {
    /// The notification's name.
    public var method: BrokerMethod
    /// The params, `nil` when absent; an object or an array.
    public var params: JSONValue?

    /// Creates a notification.
    ///
    /// - Parameters:
    ///   - method: The notification's name.
    ///   - params: The params, an object or an array, or `nil` for none.
    public init(method: BrokerMethod, params: JSONValue? = nil) {
        self.method = method
        self.params = params
    }

    /// Creates a notification with typed params.
    ///
    /// - Parameters:
    ///   - method: The notification's name.
    ///   - params: The params.
    public init(method: BrokerMethod, params: some BrokerParams) {
        self.init(method: method, params: params.jsonValue)
    }

    /// The `authorization/pending` notification.
    ///
    /// - Parameter params: Which resource waits for which sign-in.
    public static func authorizationPending(_ params: AuthorizationPendingParams) -> JSONRPCNotification {
        JSONRPCNotification(method: .authorizationPending, params: params)
    }

    /// Reads a notification.
    ///
    /// - Parameter jsonValue: The notification object.
    /// - Throws: ``WireFormatError`` when it is not a JSON-RPC 2.0 message without an id.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let envelope = try RequestEnvelope(jsonValue)
        guard envelope.id == nil else {
            throw WireFormatError(field: "id", problem: "must be absent in a notification")
        }
        self.init(method: envelope.method, params: envelope.params)
    }

    /// `{"jsonrpc": "2.0", "method", "params"?}`.
    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method.rawValue)]
        if let params { members["params"] = params }
        return .object(members)
    }

    /// The notification as one line: UTF-8 JSON ending in `\n`, with no other newline.
    public func encodedLine() -> [UInt8] {
        JSONRPCLine.encode(["jsonrpc": "2.0", "method": .string(method.rawValue), "params": params])
    }

    /// The notification as JSON, tokens redacted.
    public var description: String { jsonValue.description }
}

/// A JSON-RPC 2.0 response: a result or an error for the request with the same id.
public struct JSONRPCResponse: Sendable, Hashable, JSONValueConvertible, CustomStringConvertible {
    /// The id of the request answered; `nil` (sent as `null`) when the request's id could
    /// not be read.
    public var id: JSONRPCID?
    /// The `result`, or the `error`.
    public var outcome: Result<JSONValue, RPCError>

    /// Creates a response.
    ///
    /// - Parameters:
    ///   - id: The id of the request answered, `nil` when it could not be read.
    ///   - outcome: The result or the error.
    public init(id: JSONRPCID?, outcome: Result<JSONValue, RPCError>) {
        self.id = id
        self.outcome = outcome
    }

    /// Creates a success response.
    ///
    /// - Parameters:
    ///   - id: The id of the request answered.
    ///   - result: The method's result.
    public init(id: JSONRPCID, result: some JSONValueConvertible) {
        self.init(id: id, outcome: .success(result.jsonValue))
    }

    /// Creates an error response.
    ///
    /// - Parameters:
    ///   - id: The id of the request answered, `nil` when it could not be read.
    ///   - error: What went wrong.
    public init(id: JSONRPCID?, error: RPCError) {
        self.init(id: id, outcome: .failure(error))
    }

    /// The result, or `nil` for an error response.
    public var result: JSONValue? {
        if case .success(let result) = outcome { result } else { nil }
    }

    /// The error, or `nil` for a success response.
    public var error: RPCError? {
        if case .failure(let error) = outcome { error } else { nil }
    }

    /// Reads a response.
    ///
    /// - Parameter jsonValue: The response object.
    /// - Throws: ``WireFormatError`` unless it has `"jsonrpc": "2.0"`, an `id` (integer,
    ///   string or `null`) and exactly one of `result` and `error`.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        try RequestEnvelope.checkVersion(object.members)
        guard let rawID = object.members["id"] else { throw .missing("id") }
        let id: JSONRPCID?
        if rawID == .null {
            id = nil
        } else if let parsed = JSONRPCID(jsonValue: rawID) {
            id = parsed
        } else {
            throw .wrongType("id", expected: "an integer, a string or null", got: rawID)
        }
        switch (object.members["result"], object.members["error"]) {
        case (let result?, nil):
            self.init(id: id, outcome: .success(result))
        case (nil, _?):
            self.init(id: id, error: try object.decode(RPCError.self, "error"))
        case (nil, nil):
            throw WireFormatError(field: "result", problem: "or `error` is required")
        case (_?, _?):
            throw WireFormatError(field: "result", problem: "and `error` cannot both be present")
        }
    }

    /// `{"jsonrpc": "2.0", "id", "result"}` or `{"jsonrpc": "2.0", "id", "error"}`.
    public var jsonValue: JSONValue {
        var members: [String: JSONValue] = [:]
        for (name, value) in envelopeMembers {
            members[name] = value
        }
        return .object(members)
    }

    /// The response as one line: UTF-8 JSON ending in `\n`, with no other newline.
    public func encodedLine() -> [UInt8] {
        JSONRPCLine.encode(envelopeMembers)
    }

    /// The response as JSON, tokens redacted.
    public var description: String { jsonValue.description }

    private var envelopeMembers: KeyValuePairs<String, JSONValue?> {
        switch outcome {
        case .success(let result):
            ["jsonrpc": "2.0", "id": id?.jsonValue ?? .null, "result": result]
        case .failure(let error):
            ["jsonrpc": "2.0", "id": id?.jsonValue ?? .null, "error": error.jsonValue]
        }
    }
}

/// Writes the envelope members in a fixed, readable order (`jsonrpc`, `id`, `method`…)
/// and terminates the line.
enum JSONRPCLine {
    static func encode(_ members: KeyValuePairs<String, JSONValue?>) -> [UInt8] {
        var output: [UInt8] = [UInt8(ascii: "{")]
        var isFirst = true
        for (name, value) in members {
            guard let value else { continue }
            if !isFirst { output.append(UInt8(ascii: ",")) }
            isFirst = false
            JSONSerializer.writeString(name, into: &output)
            output.append(UInt8(ascii: ":"))
            JSONSerializer.write(value, into: &output, redacting: false)
        }
        output.append(contentsOf: "}\n".utf8)
        return output
    }
}
