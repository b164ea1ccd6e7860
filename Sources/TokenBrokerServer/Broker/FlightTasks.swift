internal import ServiceLifecycle

/// Runs the broker's background work (discoveries, refreshes, sign-ins waiting for their
/// callback) as children of one service, so a stopping daemon cancels and awaits them
/// instead of leaving unparented tasks behind.
///
/// Work is handed over with ``spawn(_:)``; results travel back through a ``OneShot``
/// the caller keeps, which every request joining the flight awaits.
final class FlightTasks: Service {
    private typealias Work = @Sendable () async -> Void
    private let stream: AsyncStream<Work>
    private let continuation: AsyncStream<Work>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Work.self)
    }

    /// Runs `work` as a child of the service. Returns false when the daemon is stopping
    /// and `work` will not run.
    @discardableResult
    func spawn(_ work: @escaping @Sendable () async -> Void) -> Bool {
        if case .enqueued = continuation.yield(work) { return true }
        return false
    }

    /// Runs work until graceful shutdown, then cancels what is still running (a sign-in
    /// waiting for a person would otherwise hold the daemon up to its lifetime).
    func run() async {
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await work in stream {
                    group.addTask { await work() }
                }
            } onGracefulShutdown: {
                self.continuation.finish()
            }
            group.cancelAll()
        }
    }
}
