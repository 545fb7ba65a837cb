import TicketflowCore

/// The engine running in real (or virtual) time: one actor owns a support center's state,
/// decides commands at the clock's `now`, mirrors timers into a `TimerQueue`, and fires
/// them when due by sending `timerFired` commands through the normal path.
///
/// A single writer per node (per partition, once clustered) keeps decisions ordered and
/// makes group commit natural; see docs/architecture.md for why tickets are not each an
/// actor of their own yet.
public actor CenterActor {
    private var center: SupportCenter
    private var timers = TimerQueue()
    private let clock: any Clock
    /// Called with each decision's events after it is applied (the outbox and journal hook).
    private let sink: @Sendable ([Event]) -> Void
    private var sleeper: Task<Void, Never>?
    private var sleepingUntil: Instant?

    /// Longest the timer loop sleeps before re-reading the clock, so a wall-clock jump is
    /// noticed within this bound even without new timers.
    public static let maximumSleep = TimeSpan.seconds(1)

    public init(workflow: Workflow, clock: any Clock, sink: @escaping @Sendable ([Event]) -> Void = { _ in }) {
        self.center = SupportCenter(workflow: workflow)
        self.clock = clock
        self.sink = sink
    }

    /// Decides and applies a command now.
    public func execute(_ command: Command) -> Result<[Event], Rejection> {
        let result = center.execute(command, at: clock.now())
        if case .success(let events) = result { absorb(events) }
        return result
    }

    public func upsert(_ agent: Agent) -> Result<[Event], Rejection> {
        let result = center.upsert(agent, at: clock.now())
        if case .success(let events) = result { absorb(events) }
        return result
    }

    public func setPresence(_ agent: String, _ presence: Presence) -> Result<[Event], Rejection> {
        let result = center.setPresence(agent, presence, at: clock.now())
        if case .success(let events) = result { absorb(events) }
        return result
    }

    public func ticket(_ id: String) -> Ticket? { center.tickets[id] }

    public var pendingTimers: Int { timers.count }

    /// Fires every timer due at the clock's `now`; tests on a virtual clock call this after advancing it.
    @discardableResult
    public func fireDueTimers() -> [Event] {
        var fired: [Event] = []
        let now = clock.now()
        while let due = timers.popDue(at: now) {
            if case .success(let events) = center.execute(.timerFired(ticket: due.ticket, timer: due.timer), at: now) {
                absorb(events)
                fired += events
            }
        }
        return fired
    }

    /// The timer loop for real time: sleeps until the next due timer (at most `maximumSleep`),
    /// fires what is due, and wakes early when an earlier timer is scheduled. Runs until cancelled.
    public func runTimers() async {
        while !Task.isCancelled {
            fireDueTimers()
            let now = clock.now()
            var wait = Self.maximumSleep.millis
            if let next = timers.nextDue() { wait = max(0, min(wait, next.millis - now.millis)) }
            let delay = wait
            let task = Task.detached { _ = try? await Task.sleep(for: .milliseconds(delay)) }
            sleeper = task
            sleepingUntil = now + TimeSpan(millis: wait)
            await task.value
            sleeper = nil
            sleepingUntil = nil
        }
    }

    private func absorb(_ events: [Event]) {
        for event in events {
            switch event.change {
            case let .timerSet(id, entry):
                timers.schedule(ticket: event.ticket, timer: id, at: entry.due)
                if let until = sleepingUntil, entry.due < until { sleeper?.cancel() }
            case .timerCleared(let id):
                timers.cancel(ticket: event.ticket, timer: id)
            default:
                break
            }
        }
        sink(events)
    }
}
