/// Slows password guessing: after `limit` failed sign-ins within `window` for one account or
/// from one address, further attempts for it are refused (without checking the password)
/// until the oldest failure leaves the window. A pure value: the shell keeps it and hands
/// in the time.
public struct LoginThrottle: Sendable {
    public var limit = 5
    public var window = TimeSpan.minutes(15)
    /// Keys tracked at most; past it the oldest-failing are forgotten first.
    public var capacity = 10_000
    private var failures: [String: [Instant]] = [:]

    public init() {}

    /// When the key (an account's e-mail or an address) may try again; nil: now.
    public func retryAt(_ key: String, now: Instant) -> Instant? {
        let recent = (failures[key] ?? []).filter { now - $0 < window }
        guard recent.count >= limit, let oldest = recent.first else { return nil }
        return oldest + window
    }

    public mutating func failed(_ key: String, at now: Instant) {
        var recent = (failures[key] ?? []).filter { now - $0 < window }
        recent.append(now)
        failures[key] = Array(recent.suffix(limit))
        if failures.count > capacity {
            // Forget keys whose failures are all outside the window, then the oldest.
            failures = failures.filter { $0.value.contains { now - $0 < window } }
            while failures.count > capacity, let oldest = failures.min(by: { $0.value.last! < $1.value.last! })?.key {
                failures[oldest] = nil
            }
        }
    }

    public mutating func succeeded(_ key: String) { failures[key] = nil }
}
