internal import NIOCore
internal import Synchronization

/// Connections set up on their event loop and not yet taken by the server's loop.
///
/// NIO drops the ones still queued when a listener stops, and an async channel dropped
/// before it was closed traps ("Deinited NIOAsyncWriter without calling finish()"): a
/// client connecting just as the daemon stops must not crash it. Each connection is held
/// here until the loop takes it; whatever is left is closed properly.
final class AcceptedChannels<Connection: Sendable>: Sendable {
    private struct State {
        var waiting: [ObjectIdentifier: Connection] = [:]
        var isClosed = false
    }

    private let state = Mutex(State())
    private let close: @Sendable (Connection) async -> Void

    /// - Parameter close: closes a connection that no loop will serve.
    init(close: @escaping @Sendable (Connection) async -> Void) {
        self.close = close
    }

    /// Holds `connection` for `channel` until ``take(_:)``; after ``drain()`` it is closed.
    func add(_ connection: Connection, for channel: any Channel) {
        let late: Bool = state.withLock { state in
            if state.isClosed { return true }
            state.waiting[ObjectIdentifier(channel)] = connection
            return false
        }
        // Set up after the listener stopped: nobody else will close it.
        if late { Task { [close] in await close(connection) } }
    }

    /// The loop took the connection for `channel`.
    func take(_ channel: any Channel) {
        _ = state.withLock { $0.waiting.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Closes every connection not taken; later ones are closed as they come.
    func drain() async {
        let left = state.withLock { state in
            state.isClosed = true
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for connection in left { await close(connection) }
    }
}
