import Foundation

/// Runs blocking work (waiting for a child process, reading its pipe) on its own
/// thread. On the cooperative pool it could take the threads the in-process daemon
/// needs to answer that very child, and the test would deadlock on a 2-core machine.
package func offThePool<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}

/// Runs `body`, then `teardown`, whether `body` returned or threw. The teardown is
/// awaited: a `defer { Task { … } }` would run it after the test ended, or never, and a
/// failing test would leak its daemon and fixtures into the next.
package func withTeardown<T>(_ body: () async throws -> T, teardown: () async -> Void) async throws -> T {
    let result: T
    do {
        result = try await body()
    } catch {
        await teardown()
        throw error
    }
    await teardown()
    return result
}
