import Foundation

/// Runs blocking work (waiting for a child process, reading its pipe) on its own
/// thread. On the cooperative pool it could take the threads the in-process daemon
/// needs to answer that very child, and the test would deadlock on a 2-core machine.
func offThePool<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}
