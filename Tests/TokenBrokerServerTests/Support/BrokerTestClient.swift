import Foundation
import NIOCore
import NIOPosix
import TokenBrokerProtocol

/// A client of the daemon's socket, one connection per call, for tests.
struct BrokerTestClient: Sendable {
    let socketPath: String

    struct Reply: Sendable {
        var response: JSONRPCResponse
        var notifications: [JSONRPCNotification]

        /// The error reason, or `nil` on success.
        var reason: String? { response.error?.reason.rawValue }
    }

    struct ConnectionClosed: Error {}

    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    private func connect() async throws -> Connection {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(unixDomainSocketPath: socketPath) { channel in
                channel.eventLoop.makeCompletedFuture { try Connection(wrappingChannelSynchronously: channel) }
            }
    }

    /// Sends one request and waits for its response, collecting notifications on the way
    /// (and handing each to `onNotification` the moment it arrives).
    func call(
        _ method: BrokerMethod, _ params: JSONValue? = nil,
        onNotification: (@Sendable (JSONRPCNotification) async -> Void)? = nil
    ) async throws -> Reply {
        let request = JSONRPCRequest(id: 1, method: method, params: params)
        let connection = try await connect()
        return try await connection.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: request.encodedLine()))
            var framer = LineFramer()
            var notifications: [JSONRPCNotification] = []
            for try await chunk in inbound {
                for case .line(let line) in framer.append(chunk.readableBytesView) {
                    switch try BrokerMessage(line: line) {
                    case .response(let response): return Reply(response: response, notifications: notifications)
                    case .notification(let notification):
                        notifications.append(notification)
                        await onNotification?(notification)
                    }
                }
            }
            throw ConnectionClosed()
        }
    }

    /// Writes raw bytes, half-closes, and returns every line the daemon sent back. Reads
    /// while it writes, as a client must when it sends more than the daemon buffers.
    func exchange(raw bytes: [UInt8]) async throws -> [String] {
        let connection = try await connect()
        return try await connection.executeThenClose { inbound, outbound in
            async let written: Void = {
                try await outbound.write(ByteBuffer(bytes: bytes))
                try? await connection.channel.close(mode: .output)
            }()
            var framer = LineFramer()
            var lines: [String] = []
            for try await chunk in inbound {
                for case .line(let line) in framer.append(chunk.readableBytesView) {
                    lines.append(String(decoding: line, as: UTF8.self))
                }
            }
            try await written
            return lines
        }
    }

    /// `token/get`, returning the reply (result or error).
    func token(
        _ resource: String, scopes: [String] = [], challenge: String? = nil, status: Int? = nil,
        rejectedToken: String? = nil, minValidSeconds: Int? = nil, interactive: Bool? = nil, waitSeconds: Int? = nil,
        onNotification: (@Sendable (JSONRPCNotification) async -> Void)? = nil
    ) async throws -> Reply {
        var params: [String: JSONValue] = ["resource": .string(resource), "application": "tokenbroker-tests"]
        if !scopes.isEmpty { params["scopes"] = .array(scopes.map(JSONValue.string)) }
        if let challenge { params["challenge"] = .string(challenge) }
        if let status { params["status"] = .integer(status) }
        if let rejectedToken { params["rejectedToken"] = .string(rejectedToken) }
        if let minValidSeconds { params["minValidSeconds"] = .integer(minValidSeconds) }
        if let interactive { params["interactive"] = .bool(interactive) }
        if let waitSeconds { params["waitSeconds"] = .integer(waitSeconds) }
        return try await call(.tokenGet, .object(params), onNotification: onNotification)
    }
}

extension BrokerTestClient.Reply {
    /// The `token/get` result; fails the test's `try` when the call failed.
    func tokenResult() throws -> TokenGetResult {
        guard let result = response.result else {
            throw UnexpectedError(description: "expected a token, got \(response.error.map { "\($0.reason): \($0.message)" } ?? "nothing")")
        }
        return try TokenGetResult(jsonValue: result)
    }
}

struct UnexpectedError: Error, CustomStringConvertible {
    var description: String
}
