import TicketflowCore

/// A support center on the virtual clock: the pure `SupportCenter` plus the shell's
/// duties — mirroring timers into a `TimerQueue`, firing them as time advances, and
/// collecting notifications in an outbox. Workflow tests and simulations run on it.
public struct VirtualNode: Sendable {
    public private(set) var center: SupportCenter
    public private(set) var timers = TimerQueue()
    public private(set) var outbox: [Notification] = []
    public private(set) var now: Instant
    /// Every event so far, in order, and every notification, when `keepsHistory` is set
    /// (tests read them; simulations and `CenterActor`, which hand events on, do not keep them).
    public private(set) var journal: [Event] = []
    public var keepsHistory: Bool
    /// Brings a ticket that is not in memory (passivated) back from storage; nil when there is none.
    public var loader: (@Sendable (String) -> Ticket?)? {
        get { center.loader }
        set { center.loader = newValue }
    }

    public init(workflow: Workflow, start: Instant, keepsHistory: Bool = true) {
        self.center = SupportCenter(workflow: workflow)
        self.now = start
        self.keepsHistory = keepsHistory
    }

    /// Runs a command at the current virtual instant.
    @discardableResult
    public mutating func execute(_ command: Command) -> Result<[Event], Rejection> {
        // A create names a ticket nobody has yet: looking for it in storage (one SQLite read
        // per create on a durable node) would only find nothing.
        if case .create = command {} else { activate(command.ticketID) }
        let result = center.execute(command, at: now)
        if case .success(let events) = result { absorb(events) }
        return result
    }

    @discardableResult
    public mutating func upsert(_ agent: Agent) -> Result<[Event], Rejection> {
        let result = center.upsert(agent, at: now)
        if case .success(let events) = result { absorb(events) }
        return result
    }

    @discardableResult
    public mutating func setPresence(_ agent: String, _ presence: Presence) -> Result<[Event], Rejection> {
        let result = center.setPresence(agent, presence, at: now)
        if case .success(let events) = result { absorb(events) }
        return result
    }

    public mutating func replaceWorkflow(_ workflow: Workflow) { center.replaceWorkflow(workflow) }

    /// In a cluster, agents are kept (and tickets routed) by the routing owner: see
    /// `SupportCenter.agentsAreRemote`.
    public var agentsAreRemote: Bool {
        get { center.agentsAreRemote }
        set { center.agentsAreRemote = newValue }
    }

    /// Moves time forward to `instant`, firing every timer due on the way at its exact instant.
    /// Returns the events the timers caused.
    @discardableResult
    public mutating func advance(to instant: Instant) -> [Event] {
        var caused: [Event] = []
        while let next = timers.nextDue(), next <= instant {
            now = max(now, next)
            guard let due = timers.popDue(at: now) else { break }
            activate(due.ticket)
            if case .success(let events) = center.execute(.timerFired(ticket: due.ticket, timer: due.timer), at: now) {
                absorb(events)
                caused += events
            }
        }
        now = max(now, instant)
        return caused
    }

    /// Restores a ticket from storage: its state, queue place, agent load and timers.
    public mutating func restore(_ ticket: Ticket) {
        center.restore(ticket)
        for (id, entry) in ticket.timers { timers.schedule(ticket: ticket.id, timer: id, at: entry.due) }
    }

    /// Restores a ticket that stays in storage until something needs it: its queue place,
    /// agent load and timers only.
    public mutating func restore(fact: RoutingFact, timers pending: [(id: String, due: Instant)]) {
        center.restore(fact: fact)
        for timer in pending { timers.load(ticket: fact.ticket, timer: timer.id, at: timer.due) }
    }

    public mutating func restore(agent: Agent) { center.restore(agent: agent) }

    /// Makes room for tickets and timers about to be restored.
    public mutating func reserveCapacity(tickets: Int, timers: Int) {
        center.reserveCapacity(tickets: tickets)
        self.timers.reserveCapacity(timers)
    }

    /// Drops a ticket from memory (its state must be in storage); its timers stay scheduled
    /// and its routing fact in place, and either brings it back when needed.
    @discardableResult
    public mutating func passivate(_ id: String) -> Bool { center.passivate(id) }

    /// Routes waiting tickets now (after a restore).
    @discardableResult
    public mutating func dispatchWaiting() -> [Event] {
        let events = center.dispatchWaiting(at: now)
        absorb(events)
        return events
    }

    private mutating func activate(_ id: String) {
        guard center.tickets[id] == nil, let loader, let ticket = loader(id) else { return }
        center.activate(ticket)
    }

    /// The earliest pending timer, for event loops that interleave their own events.
    public mutating func nextTimerDue() -> Instant? { timers.nextDue() }

    mutating func absorb(_ events: [Event]) {
        for event in events {
            switch event.change {
            case let .timerSet(id, entry): timers.schedule(ticket: event.ticket, timer: id, at: entry.due)
            case .timerCleared(let id): timers.cancel(ticket: event.ticket, timer: id)
            case .notified(let n): if keepsHistory { outbox.append(n) }
            default: break
            }
        }
        if keepsHistory { journal += events }
    }
}
