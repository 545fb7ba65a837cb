/// The state of one SLA clock on one ticket: how much business time it has used,
/// whether it runs, and when it is due.
///
/// Elapsed time is accumulated at every pause, so a resumed clock's due instant is
/// `calendar.adding(target - elapsed, to: runningSince)`: exact, with no periodic sweep.
public struct SLAClock: Hashable, Codable, Sendable {
    public var policy: String
    public var metric: SLAMetric
    public var target: TimeSpan
    public var calendar: String
    public var startedAt: Instant
    /// Business time used before `runningSince`.
    public var elapsed: TimeSpan
    /// Set while the clock runs; nil while paused or stopped.
    public var runningSince: Instant?
    public var isStopped: Bool
    public var due: Instant?
    public var warned: Bool
    public var breachedAt: Instant?
    public var fulfilledAt: Instant?
    /// Escalation levels already fired after a breach.
    public var escalationLevel: Int

    public init(policy: String, metric: SLAMetric, target: TimeSpan, calendar: String, startedAt: Instant) {
        self.policy = policy; self.metric = metric; self.target = target; self.calendar = calendar
        self.startedAt = startedAt; self.elapsed = .zero; self.runningSince = startedAt; self.isStopped = false
        self.due = nil; self.warned = false; self.breachedAt = nil; self.fulfilledAt = nil; self.escalationLevel = 0
    }

    public var key: String { "\(policy)/\(metric.rawValue)" }
    public var isRunning: Bool { runningSince != nil && !isStopped }
    public var isBreached: Bool { breachedAt != nil }

    /// Business time used by `now`.
    public func used(at now: Instant, calendar cal: BusinessCalendar) -> TimeSpan {
        guard let since = runningSince, !isStopped else { return elapsed }
        return elapsed + cal.businessTime(from: since, to: now)
    }

    mutating func pause(at now: Instant, calendar cal: BusinessCalendar) {
        guard let since = runningSince else { return }
        elapsed = elapsed + cal.businessTime(from: since, to: now)
        runningSince = nil
        due = nil
    }

    mutating func resume(at now: Instant, calendar cal: BusinessCalendar) {
        guard runningSince == nil, !isStopped else { return }
        runningSince = now
        recomputeDue(calendar: cal)
    }

    mutating func stop(at now: Instant, calendar cal: BusinessCalendar, fulfilled: Bool) {
        pause(at: now, calendar: cal)
        isStopped = true
        if fulfilled, fulfilledAt == nil { fulfilledAt = now }
    }

    /// Starts the clock afresh (next reply, periodic update): new target, flags cleared.
    mutating func restart(at now: Instant, calendar cal: BusinessCalendar) {
        startedAt = now; elapsed = .zero; runningSince = now; isStopped = false
        warned = false; breachedAt = nil; fulfilledAt = nil; escalationLevel = 0
        recomputeDue(calendar: cal)
    }

    mutating func recomputeDue(calendar cal: BusinessCalendar) {
        guard let since = runningSince, !isStopped else { due = nil; return }
        due = cal.adding(target - elapsed, to: since)
    }

    /// When the warning is due, if the clock runs and has not warned yet.
    public func warningDue(_ threshold: WarnThreshold?, calendar cal: BusinessCalendar) -> Instant? {
        guard let threshold, !warned, breachedAt == nil, let since = runningSince, !isStopped else { return nil }
        let offset = threshold.offset(forTarget: target)
        return cal.adding(offset - elapsed, to: since)
    }
}
