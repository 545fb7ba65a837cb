import TicketflowCore

/// The engine running in real (or virtual) time: one actor owns a support center and
/// decides commands at the clock's `now`. It is a `VirtualNode` whose time is read from an
/// injected clock, plus a timer loop that fires due timers by sending `timerFired`
/// commands through the normal path.
///
/// A single writer per node (per partition, once clustered) keeps decisions ordered and
/// makes group commit natural; see docs/architecture.md for why tickets are not each an
/// actor of their own yet.
public actor CenterActor {
    private var node: VirtualNode
    private let clock: any Clock
    /// Called with each decision's events after they are applied (the outbox and journal hook).
    private let sink: @Sendable ([Event]) -> Void
    private var sleeper: Task<Void, Never>?
    private var sleepingUntil: Instant?

    /// Longest the timer loop sleeps before re-reading the clock, so a wall-clock jump is
    /// noticed within this bound even without new timers.
    public static let maximumSleep = TimeSpan.seconds(1)

    public init(workflow: Workflow, clock: any Clock, sink: @escaping @Sendable ([Event]) -> Void = { _ in }) {
        self.node = VirtualNode(workflow: workflow, start: clock.now(), keepsHistory: false)
        self.clock = clock
        self.sink = sink
    }

    /// Decides and applies a command now (after firing any timer already due).
    public func execute(_ command: Command) -> Result<[Event], Rejection> {
        fireDueTimers()
        return settled(node.execute(command))
    }

    public func upsert(_ agent: Agent) -> Result<[Event], Rejection> {
        fireDueTimers()
        return settled(node.upsert(agent))
    }

    public func setPresence(_ agent: String, _ presence: Presence) -> Result<[Event], Rejection> {
        fireDueTimers()
        return settled(node.setPresence(agent, presence))
    }

    public func ticket(_ id: String) -> Ticket? { node.center.tickets[id] }

    public var pendingTimers: Int { node.timers.count }

    /// Fires every timer due at the clock's `now`; tests on a virtual clock call this after advancing it.
    @discardableResult
    public func fireDueTimers() -> [Event] {
        let fired = node.advance(to: clock.now())
        if !fired.isEmpty { sink(fired) }
        return fired
    }

    /// The timer loop for real time: sleeps until the next due timer (at most `maximumSleep`),
    /// fires what is due, and wakes early when an earlier timer is scheduled. Runs until cancelled.
    public func runTimers() async {
        while !Task.isCancelled {
            fireDueTimers()
            let now = clock.now()
            var wait = Self.maximumSleep.millis
            if let next = node.nextTimerDue() { wait = max(0, min(wait, next.millis - now.millis)) }
            let delay = wait
            let task = Task.detached { _ = try? await Task.sleep(for: .milliseconds(delay)) }
            sleeper = task
            sleepingUntil = now + TimeSpan(millis: wait)
            await task.value
            sleeper = nil
            sleepingUntil = nil
        }
    }

    /// Hands accepted events to the sink and wakes the timer loop if a timer is now due sooner.
    private func settled(_ result: Result<[Event], Rejection>) -> Result<[Event], Rejection> {
        guard case .success(let events) = result else { return result }
        sink(events)
        if let until = sleepingUntil, let next = node.nextTimerDue(), next < until { sleeper?.cancel() }
        return result
    }
}
