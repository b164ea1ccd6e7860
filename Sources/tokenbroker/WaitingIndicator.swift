#if canImport(Glibc)
import Glibc
#endif

/// The line `tokenbroker login` redraws on a terminal while a person signs in:
/// `⠹ Waiting for the sign-in… 1m 05s (Ctrl-C to stop waiting)`.
final class WaitingIndicator {
    private static let frames = Array("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
    private var startedAt: ContinuousClock.Instant?
    private var frame = 0

    /// Shows the line; from now on ``tick()`` redraws it.
    func start() {
        startedAt = ContinuousClock.now
        draw()
    }

    /// Redraws the line with the time waited so far (called about once a second).
    func tick() {
        guard startedAt != nil else { return }
        frame += 1
        draw()
    }

    /// Clears the line, if it was shown.
    func finish() {
        guard startedAt != nil else { return }
        startedAt = nil
        writeStandardError("\r\u{1B}[K")
    }

    private func draw() {
        guard let startedAt else { return }
        let waited = Int((ContinuousClock.now - startedAt).components.seconds)
        writeStandardError("\r\u{1B}[K" + Self.line(waited: waited, frame: frame))
    }

    /// The text of the line after `waited` seconds, at animation step `frame`.
    static func line(waited seconds: Int, frame: Int) -> String {
        let minutes = seconds / 60
        let time = minutes > 0 ? "\(minutes)m \(seconds % 60 < 10 ? "0" : "")\(seconds % 60)s" : "\(seconds)s"
        return "\(frames[frame % frames.count]) Waiting for the sign-in… \(time) (Ctrl-C to stop waiting)"
    }
}
