import Foundation
import TicketflowCore

/// Where the shell gets `now` from. Production uses `SystemClock`; tests and simulations
/// use `VirtualClock`, so the same code runs deterministically with no waiting.
public protocol Clock: Sendable {
    func now() -> Instant
}

/// Wall-clock time, in milliseconds.
public struct SystemClock: Clock {
    public init() {}
    public func now() -> Instant { Instant(millis: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))) }
}

/// A clock that moves only when told to. Safe to share: its one value sits behind a lock.
public final class VirtualClock: Clock, @unchecked Sendable {
    // @unchecked Sendable: `current` is only read or written while holding `lock`.
    private let lock = NSLock()
    private var current: Instant

    public init(start: Instant) { self.current = start }

    public func now() -> Instant { lock.withLock { current } }

    /// Moves the clock forward; moving backwards is refused, as real monotonic time would.
    public func advance(to instant: Instant) {
        lock.withLock { if instant > current { current = instant } }
    }

    public func advance(by span: TimeSpan) {
        lock.withLock { current = current + span }
    }
}
