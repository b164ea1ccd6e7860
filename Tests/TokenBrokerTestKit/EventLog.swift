import Synchronization

/// An append-only, thread-safe list that tests can wait on: "until the third /token
/// request", "until the browser was asked to open a URL". No sleeping, no polling.
package final class EventLog<Element: Sendable>: Sendable {
    private struct Waiter {
        var id: Int
        var predicate: @Sendable ([Element]) -> Bool
        var continuation: CheckedContinuation<[Element], Never>
    }

    private struct State {
        var items: [Element] = []
        var waiters: [Waiter] = []
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    package init() {}

    /// Everything appended so far, in order.
    package var items: [Element] { state.withLock { $0.items } }

    package func append(_ item: Element) {
        let ready: [(CheckedContinuation<[Element], Never>, [Element])] = state.withLock { state in
            state.items.append(item)
            let items = state.items
            var ready: [(CheckedContinuation<[Element], Never>, [Element])] = []
            state.waiters.removeAll { waiter in
                guard waiter.predicate(items) else { return false }
                ready.append((waiter.continuation, items))
                return true
            }
            return ready
        }
        for (continuation, items) in ready { continuation.resume(returning: items) }
    }

    /// Returns once `predicate` holds for the items (at once if it already does). When
    /// the waiting task is cancelled (a test's time limit) it returns the items as they
    /// are, so the test's expectations fail instead of the test hanging.
    @discardableResult
    package func wait(until predicate: @escaping @Sendable ([Element]) -> Bool) async -> [Element] {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate: [Element]? = state.withLock { state in
                    if predicate(state.items) || Task.isCancelled { return state.items }
                    state.waiters.append(Waiter(id: id, predicate: predicate, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let cancelled: (CheckedContinuation<[Element], Never>, [Element])? = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return (state.waiters.remove(at: index).continuation, state.items)
            }
            if let (continuation, items) = cancelled { continuation.resume(returning: items) }
        }
    }

    /// Returns once at least `count` items were appended.
    @discardableResult
    package func wait(forCount count: Int) async -> [Element] {
        await wait { $0.count >= count }
    }
}

/// A latch a test opens by hand: whoever waits before it opens is held until then.
/// Used to make a server "slow" without a clock.
package final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    package init(open: Bool = false) {
        state.withLock { $0.isOpen = open }
    }

    package func wait() async {
        await withCheckedContinuation { continuation in
            let proceed: Bool = state.withLock { state in
                if state.isOpen { return true }
                state.waiters.append(continuation)
                return false
            }
            if proceed { continuation.resume() }
        }
    }

    package func open() {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
