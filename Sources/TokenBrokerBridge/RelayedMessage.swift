package import TokenBrokerProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON-RPC message on its way through the bridge: the bytes exactly as their writer
/// sent them, and what the transport needs to know about them.
///
/// The bridge never re-encodes a message; it reads one only to route it (which ids await
/// an answer, which headers the 2026-07-28 transport wants).
package struct RelayedMessage: Sendable {
    /// What kind of JSON-RPC message this is.
    package enum Kind: Sendable, Hashable {
        /// A request: an answer with the same id is due.
        case request(id: JSONValue, method: String)
        /// A notification: no answer.
        case notification(method: String)
        /// A response to a request of the other side.
        case response(id: JSONValue)
        /// A JSON array of messages (2025-03-26 batches): answers are due for `requestIDs`.
        case batch(requestIDs: [JSONValue])
    }

    /// The message as written, one JSON text.
    package let bytes: [UInt8]
    /// What it is.
    package let kind: Kind
    /// The parsed message, for the few fields routing reads.
    package let value: JSONValue

    /// Reads one line the host wrote.
    ///
    /// - Throws: ``MessageProblem/notJSON(_:)`` when the line is not JSON,
    ///   ``MessageProblem/notJSONRPC(_:id:)`` when it is JSON but no JSON-RPC message.
    package init(bytes: [UInt8]) throws(MessageProblem) {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: bytes)
        } catch {
            throw .notJSON(error)
        }
        self.bytes = bytes
        self.value = value
        self.kind = try Self.kind(of: value)
    }

    private static func kind(of value: JSONValue) throws(MessageProblem) -> Kind {
        switch value {
        case .object(let members):
            let id = members["id"]
            if case .string(let method)? = members["method"] {
                if let id, !id.isNull { return .request(id: id, method: method) }
                return .notification(method: method)
            }
            if let id, members["result"] != nil || members["error"] != nil { return .response(id: id) }
            throw .notJSONRPC("neither a request, a notification nor a response", id: id)
        case .array(let elements):
            guard !elements.isEmpty else { throw .notJSONRPC("an empty batch", id: nil) }
            var ids: [JSONValue] = []
            for element in elements {
                if case .request(let id, _) = try kind(of: element) { ids.append(id) }
            }
            return .batch(requestIDs: ids)
        default:
            throw .notJSONRPC("not a JSON object", id: nil)
        }
    }

    /// The ids of the requests in this message, each of which is owed an answer.
    package var requestIDs: [JSONValue] {
        switch kind {
        case .request(let id, _): [id]
        case .batch(let ids): ids
        case .notification, .response: []
        }
    }

    /// The method of a request or notification.
    package var method: String? {
        switch kind {
        case .request(_, let method), .notification(let method): method
        case .response, .batch: nil
        }
    }

    /// When this is an answer (or a batch of them), the ids it answers.
    package var answeredIDs: [JSONValue] {
        switch value {
        case .object(let members):
            guard members["method"] == nil, members["result"] != nil || members["error"] != nil, let id = members["id"] else {
                return []
            }
            return [id]
        case .array(let elements):
            return elements.flatMap { element -> [JSONValue] in
                guard let members = element.objectValue, members["method"] == nil,
                    members["result"] != nil || members["error"] != nil, let id = members["id"]
                else { return [] }
                return [id]
            }
        default:
            return []
        }
    }

    /// `result.protocolVersion` of an `initialize` answer.
    package var negotiatedProtocolVersion: String? {
        value["result"]?["protocolVersion"]?.stringValue
    }

    /// The per-request protocol version of the 2026-07-28 envelope (`params._meta`).
    package var envelopeProtocolVersion: String? {
        value["params"]?["_meta"]?["io.modelcontextprotocol/protocolVersion"]?.stringValue
    }

    /// The methods whose `Mcp-Name` header mirrors a parameter, and which one.
    package static let nameBearingParameters: [String: String] = [
        "tools/call": "name", "prompts/get": "name", "resources/read": "uri",
    ]

    /// The headers the Streamable HTTP transport derives from this message: `Mcp-Method`
    /// and `Mcp-Name` (2026-07-28), and `MCP-Protocol-Version`: the message's own envelope
    /// version, else the one `initialize` negotiated.
    package func routingHeaders(negotiatedProtocolVersion: String?) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if let version = envelopeProtocolVersion ?? negotiatedProtocolVersion {
            headers.append(("MCP-Protocol-Version", Self.headerValue(version)))
        }
        if let method {
            headers.append(("Mcp-Method", Self.headerValue(method)))
            if let parameter = Self.nameBearingParameters[method], let name = value["params"]?[parameter]?.stringValue {
                headers.append(("Mcp-Name", Self.headerValue(name)))
            }
        }
        return headers
    }

    /// A value as an HTTP field carries it: printable ASCII without edge spaces as it is,
    /// anything else as `=?base64?…?=` (the 2026-07-28 transport's rule), so no value can
    /// break a header or be read back differently.
    package static func headerValue(_ value: String) -> String {
        let bytes = Array(value.utf8)
        let printable = bytes.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
        let trimmed = bytes.first != 0x20 && bytes.last != 0x20
        let looksEncoded = value.hasPrefix("=?base64?") && value.hasSuffix("?=")
        if printable && trimmed && !looksEncoded { return value }
        return "=?base64?" + Data(bytes).base64EncodedString() + "?="
    }
}

/// Why a line from the host is no message to relay.
package enum MessageProblem: Error, Sendable {
    /// Not JSON: answered with a JSON-RPC parse error.
    case notJSON(JSONSyntaxError)
    /// JSON, but no JSON-RPC message: answered with an invalid-request error.
    case notJSONRPC(String, id: JSONValue?)
}
