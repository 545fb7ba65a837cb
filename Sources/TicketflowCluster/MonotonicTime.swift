import Foundation

/// Nanoseconds on the monotonic clock, as plain integers: the transport reads the time on
/// every request, and `ContinuousClock` arithmetic (128-bit `Duration`s) showed in its profile.
/// Monotonic, so a wall-clock jump neither expires requests early nor makes peers look dead.
enum MonotonicTime {
    static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// How long ago `then` was at `now`; zero when `then` is later — another thread stored a
    /// time read after `now` was. (A wrapping subtraction there once made a peer heard a
    /// moment ago look silent for 584 years: a `503` for a live peer, now and then, under load.)
    static func age(of then: UInt64, at now: UInt64) -> UInt64 { now > then ? now - then : 0 }
}

extension Duration {
    /// This duration in whole nanoseconds (negative durations count as zero).
    var wholeNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}
