internal import Foundation
internal import Logging
internal import ServiceLifecycle
internal import Synchronization
internal import TokenBrokerCore
internal import TokenBrokerProtocol
internal import TokenBrokerStorage

/// Collects audit entries in memory and writes them in batches, so that a cache hit
/// costs an append to an array, not a database write.
///
/// Repeats are coalesced: within one flush interval, the same process getting the same
/// outcome for the same resource is recorded once (with the first time), so a client
/// that asks for its token before every call does not flood the log.
final class AuditRecorder: Service {
    private struct Key: Hashable {
        var pid: Int32
        var method: String
        var resource: String?
        var outcome: String
    }

    private struct Backlog {
        var entries: [AuditEntry] = []
        var keys: Set<Key> = []
        var dropped = 0
    }

    private let backlog = Mutex(Backlog())
    /// The latest batch write; each waits for the one before, so a flush returns only
    /// once everything recorded before it is in the database (audit/list reads after one).
    private let lastWrite = Mutex<Task<Void, Never>?>(nil)
    private let store: BrokerStore
    private let now: @Sendable () -> Date
    private let logger: Logger
    /// Beyond this many distinct unwritten entries new ones are dropped (and counted).
    static let maximumBacklog = 10_000
    /// How long audit lines are kept.
    static let retention: TimeInterval = 90 * 24 * 3600

    init(store: BrokerStore, now: @escaping @Sendable () -> Date, logger: Logger) {
        self.store = store
        self.now = now
        self.logger = logger
    }

    func record(
        peer: PeerIdentity, application: String?, method: BrokerMethod, resource: String?, scopes: ScopeSet,
        outcome: AuditOutcome
    ) {
        let key = Key(pid: peer.pid, method: method.rawValue, resource: resource, outcome: outcome.rawValue)
        let at = now()
        backlog.withLock { backlog in
            guard backlog.keys.insert(key).inserted else { return }
            guard backlog.entries.count < Self.maximumBacklog else {
                backlog.dropped += 1
                return
            }
            backlog.entries.append(AuditEntry(
                at: at, peerUID: peer.uid, peerPID: peer.pid, executable: peer.executable, application: application,
                method: method.rawValue, resource: resource, scopes: scopes, outcome: outcome))
        }
    }

    /// The newest entries, newest first, including any not yet written.
    func recent(limit: Int) async throws(StorageError) -> [AuditEntry] {
        await flush()
        return try await store.recentAuditEntries(limit: limit)
    }

    /// Writes what has accumulated, in one transaction.
    func flush() async {
        let (store, logger) = (store, logger)
        // The last flush runs while the daemon's tasks are being cancelled, and the database
        // refuses work from a cancelled task: write from a task of its own, or lose the lines.
        let write = backlog.withLock { backlog in
            let (entries, dropped) = (backlog.entries, backlog.dropped)
            backlog = Backlog()
            return lastWrite.withLock { last in
                let previous = last
                let write = Task {
                    await previous?.value
                    if dropped > 0 { logger.warning("audit backlog full; entries dropped", metadata: ["dropped": "\(dropped)"]) }
                    guard !entries.isEmpty else { return }
                    do {
                        try await store.appendAudit(contentsOf: entries)
                    } catch {
                        logger.error("could not write the audit log", metadata: ["error": "\(error)"])
                    }
                }
                last = write
                return write
            }
        }
        await write.value
    }

    /// Flushes every two seconds until graceful shutdown or cancellation, then once more;
    /// prunes old lines daily. The daemon stops it last, so it writes what the others recorded.
    func run() async {
        var lastPrune: Date?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if lastPrune.map({ now().timeIntervalSince($0) > 24 * 3600 }) ?? true {
                lastPrune = now()
                _ = try? await store.deleteAuditEntries(before: now().addingTimeInterval(-Self.retention))
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.flushInterval) }
            await flush()
        }
        await flush()
    }

    /// How long entries wait in memory at most.
    static let flushInterval = Duration.seconds(2)
}
