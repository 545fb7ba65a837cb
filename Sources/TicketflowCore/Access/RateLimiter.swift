/// A token bucket per caller: `rate` requests a second on average, bursts up to `burst`.
/// A pure value; the shell keeps it and hands in the time. Callers that have been quiet long
/// enough to refill are forgotten, so the table holds only the busy ones (at most `capacity`).
public struct RateLimiter: Sendable {
    public let rate: Double
    public let burst: Double
    public var capacity = 100_000
    private var buckets: [String: (tokens: Double, at: Instant)] = [:]

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// Takes one request from `key`'s bucket; nil when admitted, otherwise how long until one
    /// is available.
    public mutating func take(_ key: String, at now: Instant) -> TimeSpan? {
        var (tokens, at) = buckets[key] ?? (burst, now)
        tokens = min(burst, tokens + Double(max(0, (now - at).millis)) * rate / 1000)
        guard tokens >= 1 else {
            buckets[key] = (tokens, now)
            return TimeSpan(millis: Int64(((1 - tokens) / rate * 1000).rounded(.up)))
        }
        buckets[key] = (tokens - 1, now)
        if buckets.count > capacity {
            let full = burst / rate * 1000
            buckets = buckets.filter { Double((now - $0.value.at).millis) < full }
            if buckets.count > capacity { buckets.removeAll() }   // a flood of distinct keys: start over
        }
        return nil
    }
}
