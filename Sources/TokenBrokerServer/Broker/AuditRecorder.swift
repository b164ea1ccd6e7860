internal import Foundation
internal import Logging
internal import Synchronization
internal import TokenBrokerCore
internal import TokenBrokerProtocol
internal import TokenBrokerStorage

/// Collects audit entries in memory and writes them in batches, so that a cache hit
/// costs an append to an array, not a database write.
final class AuditRecorder: Sendable {
    private let pending = Mutex<[AuditEntry]>([])
    private let store: BrokerStore
    private let now: @Sendable () -> Date
    private let logger: Logger
    /// Beyond this many unwritten entries the oldest are dropped (and the loss logged).
    static let maximumBacklog = 10_000

    init(store: BrokerStore, now: @escaping @Sendable () -> Date, logger: Logger) {
        self.store = store
        self.now = now
        self.logger = logger
    }

    func record(
        peer: PeerIdentity, application: String?, method: BrokerMethod, resource: String?, scopes: ScopeSet,
        outcome: AuditOutcome
    ) {
        let entry = AuditEntry(
            at: now(), peerUID: peer.uid, peerPID: peer.pid, executable: peer.executable, application: application,
            method: method.rawValue, resource: resource, scopes: scopes, outcome: outcome)
        let dropped = pending.withLock { entries -> Bool in
            entries.append(entry)
            guard entries.count > Self.maximumBacklog else { return false }
            entries.removeFirst(entries.count - Self.maximumBacklog)
            return true
        }
        if dropped { logger.warning("audit backlog full; dropping the oldest entries") }
    }

    /// Writes what has accumulated.
    func flush() async {
        let entries = pending.withLock { entries in
            defer { entries = [] }
            return entries
        }
        for entry in entries {
            do {
                _ = try await store.appendAudit(entry)
            } catch {
                logger.error("could not write the audit log", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    /// Flushes every `interval` until cancelled, then once more.
    func run(interval: Duration = .seconds(2)) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await flush()
        }
        await flush()
    }
}
