import Foundation

extension Date {
    /// Whole unix seconds, rounded down: how the store writes every time.
    ///
    /// Rounding down keeps expiry checks on the safe side: a token is never thought
    /// to live longer than the server said.
    var storedSeconds: Int64 {
        let seconds = timeIntervalSince1970.rounded(.down)
        // Dates far outside any token's life would trap Int64(_:); clamp them instead.
        return Int64(exactly: seconds) ?? (seconds < 0 ? Int64.min : Int64.max)
    }

    /// The date of a stored time.
    init(storedSeconds: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(storedSeconds))
    }
}
