import Synchronization

/// Whether a complaint about something (a peer, a key) may be logged now: once a minute per
/// subject, so a flood of bad frames or refused handshakes is counted, not written line by line.
final class LogOncePerMinute: Sendable {
    private let last = Mutex<[String: UInt64]>([:])

    func allows(_ subject: String) -> Bool {
        let now = MonotonicTime.nanoseconds()
        return last.withLock { last in
            if let previous = last[subject], now &- previous < 60_000_000_000 { return false }
            last[subject] = now
            return true
        }
    }
}
