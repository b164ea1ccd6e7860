internal import NIOCore
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#endif

/// How many client connections the daemon keeps open, and which one goes when a new one
/// would pass that.
///
/// Every connection holds a descriptor, and a crowd of idle ones (a leaking host, a buggy
/// script) must not leave none for the next client, the database, the callback server or
/// outbound HTTP. At the cap, the connection idle longest with no request in flight is
/// closed to make room (its client reconnects when it needs the daemon again: each call
/// of the client library does); when every connection has a request in flight, the new
/// one is refused with an error line.
final class ConnectionLimiter: Sendable {
    /// The most client connections open at once.
    let capacity: Int

    private struct Entry {
        var channel: any Channel
        var lastActive: NIODeadline
        var requestsInFlight: Int
    }

    private struct State {
        var nextID = 0
        var entries: [Int: Entry] = [:]
        var isStopped = false
    }

    private let state = Mutex(State())

    init(capacity: Int) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
    }

    /// What became of a new connection.
    enum Admission: Equatable {
        /// Served, under this id; `evicted` was closed to make room.
        case admitted(id: Int)
        /// Every open connection has a request in flight: refuse this one.
        case refused
        /// The daemon is shutting down: close it.
        case stopped
    }

    /// Admits `channel`, closing the longest-idle connection without requests when full.
    func admit(_ channel: any Channel, now: NIODeadline = .now()) -> Admission {
        let (admission, evicted) = state.withLock { state -> (Admission, (any Channel)?) in
            var evicted: (any Channel)?
            if state.isStopped { return (.stopped, nil) }
            if state.entries.count >= capacity {
                guard
                    let idlest = state.entries.filter({ $0.value.requestsInFlight == 0 })
                        .min(by: { $0.value.lastActive < $1.value.lastActive })
                else { return (.refused, nil) }
                evicted = state.entries.removeValue(forKey: idlest.key)?.channel
            }
            let id = state.nextID
            state.nextID += 1
            state.entries[id] = Entry(channel: channel, lastActive: now, requestsInFlight: 0)
            return (.admitted(id: id), evicted)
        }
        evicted?.close(promise: nil)
        return admission
    }

    /// The client sent something.
    func touch(_ id: Int, now: NIODeadline = .now()) {
        state.withLock { $0.entries[id]?.lastActive = now }
    }

    /// A request of `id` went to the broker's tasks (a sign-in may keep it for minutes).
    func requestStarted(_ id: Int) {
        state.withLock { $0.entries[id]?.requestsInFlight += 1 }
    }

    /// That request was answered.
    func requestEnded(_ id: Int, now: NIODeadline = .now()) {
        state.withLock { state in
            state.entries[id]?.requestsInFlight -= 1
            state.entries[id]?.lastActive = now
        }
    }

    /// The connection closed.
    func remove(_ id: Int) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Admits no more connections (graceful shutdown) and returns those open now.
    func stopAdmitting() -> [any Channel] {
        state.withLock { state in
            state.isStopped = true
            return state.entries.values.map(\.channel)
        }
    }

    /// Connections open now.
    var count: Int { state.withLock { $0.entries.count } }

    /// The cap for a process allowed `descriptors` open files: a quarter of them at most
    /// is kept for the database, the callback server, outbound HTTP and children, at least
    /// 128 and never more than 8,192 connections (more would be a crowd, not clients).
    static func capacity(forDescriptorLimit descriptors: Int) -> Int {
        let reserve = max(128, descriptors / 4)
        return min(8192, max(16, descriptors - reserve))
    }
}

/// The process's open-file limit (RLIMIT_NOFILE).
enum DescriptorLimit {
    /// Raises the soft limit to the hard one, as systemd asks of programs that need many
    /// descriptors (a user service starts with a soft limit of 1,024); returns the soft
    /// limit in force afterwards.
    static func raiseSoftLimitToHard() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: min(limit.rlim_cur, rlim_t(Int32.max)))  // RLIM_INFINITY is the largest rlim_t
    }
}
