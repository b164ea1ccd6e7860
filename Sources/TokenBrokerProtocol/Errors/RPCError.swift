/// A JSON-RPC error object as tokenbroker sends it:
/// `{"code", "message", "data": {"reason", "authorizationUrl"?, "error"?, "status"?}}`.
///
/// Clients branch on ``reason``; ``message`` is a sentence for a person. Messages never
/// hold a token: the constructors here take field names and problems, not values.
public struct RPCError: Error, Sendable, Hashable, JSONValueConvertible, CustomStringConvertible {
    /// `error.code`.
    public var code: RPCErrorCode
    /// `error.message`: what went wrong and, where possible, what to do about it.
    public var message: String
    /// `error.data.reason`: the stable cause.
    public var reason: RPCErrorReason
    /// `error.data.authorizationUrl`: where a person can sign in, when the daemon prepared
    /// a sign-in (with ``RPCErrorReason/authorizationRequired``).
    public var authorizationURL: String?
    /// `error.data.error`: the OAuth error code the authorization server gave
    /// (`access_denied`, `invalid_scope`…), with ``RPCErrorReason/authorizationFailed``.
    public var oauthError: String?
    /// `error.data.status`: the HTTP status of the authorization server's refusal at its
    /// token endpoint, with ``RPCErrorReason/authorizationFailed``.
    public var httpStatus: Int?

    /// Creates an error with the code the contract pairs with `reason`.
    ///
    /// - Parameters:
    ///   - reason: The stable cause; a reason outside the contract gets `-32603`.
    ///   - message: A sentence a person can act on. Never put a token in it.
    ///   - authorizationURL: Where a person can sign in, if a sign-in was prepared.
    ///   - oauthError: The authorization server's OAuth error code, if any.
    ///   - httpStatus: The HTTP status of the authorization server's refusal, if any.
    public init(
        reason: RPCErrorReason, message: String, authorizationURL: String? = nil, oauthError: String? = nil,
        httpStatus: Int? = nil
    ) {
        self.init(
            code: reason.code ?? .internalError,
            reason: reason,
            message: message,
            authorizationURL: authorizationURL,
            oauthError: oauthError,
            httpStatus: httpStatus
        )
    }

    /// Creates an error with an explicit code, for reasons this library does not know yet.
    ///
    /// - Parameters:
    ///   - code: `error.code`.
    ///   - reason: `error.data.reason`.
    ///   - message: A sentence a person can act on. Never put a token in it.
    ///   - authorizationURL: Where a person can sign in, if a sign-in was prepared.
    ///   - oauthError: The authorization server's OAuth error code, if any.
    ///   - httpStatus: The HTTP status of the authorization server's refusal, if any.
    public init(
        code: RPCErrorCode,
        reason: RPCErrorReason,
        message: String,
        authorizationURL: String? = nil,
        oauthError: String? = nil,
        httpStatus: Int? = nil
    ) {
        self.code = code
        self.reason = reason
        self.message = message
        self.authorizationURL = authorizationURL
        self.oauthError = oauthError
        self.httpStatus = httpStatus
    }

    /// "message (reason, code)".
    public var description: String { "\(message) (\(reason), \(code))" }
}

// MARK: - The errors the protocol layer itself produces

extension RPCError {
    /// The line is not JSON.
    ///
    /// - Parameter syntaxError: Where and why parsing failed.
    public static func parseError(_ syntaxError: JSONSyntaxError) -> RPCError {
        RPCError(
            reason: .parseError,
            message: "The line is not valid JSON (\(syntaxError)); send one JSON-RPC 2.0 request object per line."
        )
    }

    /// The message is not a JSON-RPC 2.0 request.
    ///
    /// - Parameter problem: What is wrong, as a sentence.
    public static func invalidRequest(_ problem: String) -> RPCError {
        RPCError(reason: .invalidRequest, message: problem)
    }

    /// A batch (a JSON array) arrived; tokenbroker answers one request per line.
    public static let batchNotSupported = RPCError.invalidRequest(
        "Batch requests are not supported; send each request as its own line."
    )

    /// A line passed ``BrokerProtocol/maximumLineLength``; the daemon closes the connection after sending this.
    public static let lineTooLong = RPCError.invalidRequest(
        "The line is longer than \(BrokerProtocol.maximumLineLength) bytes (1 MiB); the connection is closed."
    )

    /// No method of that name.
    ///
    /// - Parameter method: The method the client asked for; echoed only when short.
    public static func methodNotFound(_ method: BrokerMethod) -> RPCError {
        let name = method.rawValue.count <= 64 ? "`\(method.rawValue)`" : "of that name"
        let known = BrokerMethod.allRequestMethods.map(\.rawValue).joined(separator: ", ")
        return RPCError(reason: .methodNotFound, message: "There is no method \(name); the methods are \(known).")
    }

    /// The params are missing a member, or one has the wrong type or is out of range.
    ///
    /// - Parameter formatError: Which member and what is wrong.
    public static func invalidParams(_ formatError: WireFormatError) -> RPCError {
        RPCError(reason: .invalidParams, message: "Invalid params: \(formatError.sentence(subject: "params")).")
    }

    /// The params are unacceptable for a reason found beyond their shape (for example a
    /// resource URL with a fragment).
    ///
    /// - Parameter problem: What is wrong, as a sentence.
    public static func invalidParams(message problem: String) -> RPCError {
        RPCError(reason: .invalidParams, message: problem)
    }

    /// A bug in the daemon. The message is deliberately generic: details go to the log.
    public static let internalError = RPCError(
        reason: .internalError,
        message: "The broker hit an internal error; the daemon's log has the details."
    )
}

// MARK: - JSON form

extension RPCError {
    /// Reads an error object.
    ///
    /// `code` and `message` are required. When `data.reason` is absent (a peer that is
    /// not tokenbrokerd) the reason is the one the contract pairs with `code`, else
    /// `internal_error`.
    ///
    /// - Parameter jsonValue: The `error` member of a response.
    /// - Throws: ``WireFormatError`` naming the bad member.
    public init(jsonValue: JSONValue) throws(WireFormatError) {
        let object = try JSONObjectReader(jsonValue)
        let code = RPCErrorCode(rawValue: try object.integer("code"))
        let message = try object.string("message")
        var reason = RPCErrorReason(code: code) ?? .internalError
        var authorizationURL: String?
        var oauthError: String?
        var httpStatus: Int?
        if let data = object.value("data") {
            do {
                let dataObject = try JSONObjectReader(data)
                if let reasonString = try dataObject.optionalString("reason") {
                    reason = RPCErrorReason(rawValue: reasonString)
                }
                authorizationURL = try dataObject.optionalString("authorizationUrl")
                oauthError = try dataObject.optionalString("error")
                httpStatus = try dataObject.optionalInteger("status")
            } catch {
                throw error.nested(under: "data")
            }
        }
        self.init(
            code: code, reason: reason, message: message, authorizationURL: authorizationURL, oauthError: oauthError,
            httpStatus: httpStatus)
    }

    /// `{"code", "message", "data": {"reason", "authorizationUrl"?, "error"?, "status"?}}`.
    public var jsonValue: JSONValue {
        var data: [String: JSONValue] = ["reason": .string(reason.rawValue)]
        if let authorizationURL { data["authorizationUrl"] = .string(authorizationURL) }
        if let oauthError { data["error"] = .string(oauthError) }
        if let httpStatus { data["status"] = .integer(httpStatus) }
        return ["code": .integer(code.rawValue), "message": .string(message), "data": .object(data)]
    }
}
