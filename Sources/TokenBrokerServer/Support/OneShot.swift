internal import Synchronization

/// A value set once and awaited by any number of tasks. A waiter that is cancelled
/// stops waiting (gets `nil`) without affecting the others.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [Int: CheckedContinuation<Value?, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Sets the value and wakes every waiter; later calls are ignored.
    ///
    /// - Returns: Whether this call set the value.
    @discardableResult
    func fulfill(_ value: Value) -> Bool {
        let waiters = state.withLock { state -> [CheckedContinuation<Value?, Never>]? in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    /// The value once set, or `nil` if the waiting task is cancelled first.
    func value() async -> Value? {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate: Value?? = state.withLock { state in
                    if let value = state.value { return .some(value) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }
}

/// The longest wait honoured (a client's `waitSeconds` may be any integer; `Duration`
/// and `Int(seconds)` trap on the largest).
let longestWait: Double = 366 * 86_400

/// Sleeps for a number of seconds on some clock; returns early when cancelled.
typealias Sleep = @Sendable (_ seconds: Double) async -> Void

/// The wall clock's ``Sleep``.
let wallClockSleep: Sleep = { seconds in try? await Task.sleep(for: .seconds(seconds)) }

/// Waits for `oneShot` at most `seconds` (at most ``longestWait``) on `sleep`'s clock;
/// `nil` on timeout or cancellation.
func wait<Value: Sendable>(for oneShot: OneShot<Value>, atMost seconds: Double, sleep: @escaping Sleep = wallClockSleep) async -> Value? {
    let bounded = seconds.isFinite ? min(max(seconds, 0), longestWait) : longestWait
    return await withTaskGroup(of: Value?.self) { group in
        group.addTask { await oneShot.value() }
        group.addTask {
            await sleep(bounded)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
