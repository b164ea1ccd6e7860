/// The members every JSON-RPC 2.0 request and notification shares, validated in the
/// order that lets an error response carry the id whenever it could be read.
struct RequestEnvelope {
    var id: JSONRPCID?
    var method: BrokerMethod
    var params: JSONValue?

    /// A failed read, with the id if it was readable.
    struct Failure: Error {
        var id: JSONRPCID?
        var error: WireFormatError
    }

    init(_ value: JSONValue) throws(WireFormatError) {
        do {
            self = try Self.read(value)
        } catch {
            throw error.error
        }
    }

    private init(id: JSONRPCID?, method: BrokerMethod, params: JSONValue?) {
        self.id = id
        self.method = method
        self.params = params
    }

    static func read(_ value: JSONValue) throws(Failure) -> RequestEnvelope {
        guard case .object(let members) = value else {
            throw Failure(id: nil, error: .wrongType("", expected: "an object", got: value))
        }
        // The id first: every later error response can then carry it.
        var id: JSONRPCID?
        if let rawID = members["id"] {
            guard let parsed = JSONRPCID(jsonValue: rawID) else {
                throw Failure(id: nil, error: .wrongType("id", expected: "an integer or a string", got: rawID))
            }
            id = parsed
        }
        do {
            try checkVersion(members)
        } catch {
            throw Failure(id: id, error: error)
        }
        guard let rawMethod = members["method"] else {
            throw Failure(id: id, error: .missing("method"))
        }
        guard let method = rawMethod.stringValue else {
            throw Failure(id: id, error: .wrongType("method", expected: "a string", got: rawMethod))
        }
        let params = members["params"]
        switch params {
        case nil, .object?, .array?:
            break
        case let other?:
            throw Failure(id: id, error: .wrongType("params", expected: "an object or an array", got: other))
        }
        return RequestEnvelope(id: id, method: BrokerMethod(rawValue: method), params: params)
    }

    static func checkVersion(_ members: [String: JSONValue]) throws(WireFormatError) {
        guard members["jsonrpc"] == "2.0" else {
            throw WireFormatError(field: "jsonrpc", problem: members["jsonrpc"] == nil ? #"is required and must be "2.0""# : #"must be "2.0""#)
        }
    }
}
