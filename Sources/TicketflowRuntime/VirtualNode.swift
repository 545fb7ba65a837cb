import TicketflowCore

/// A support center on a clock it is told about: the pure `SupportCenter` plus the timer
/// queue mirrored from the tickets' timers, fired as time advances, and (for tests) the
/// journal and the outbox. Workflow tests and simulations drive it on virtual time; the
/// durable node's state machine (`NodeStateMachine`, TicketflowNode) holds one and drives it
/// on the system clock. It never reads storage: a node that passivates tickets sets
/// `ticketsMayBeElsewhere`, and then a due timer or a routing proposal whose ticket is not in
/// memory stops it until the shell brings that ticket in (`ticketsToLoad`, `activate`).
public struct VirtualNode: Sendable {
    public private(set) var center: SupportCenter
    public private(set) var timers = TimerQueue()
    public private(set) var outbox: [Notification] = []
    public private(set) var now: Instant
    /// Every event so far, in order, and every notification, when `keepsHistory` is set
    /// (tests read them; simulations and the durable node, which hand events on, do not keep them).
    public private(set) var journal: [Event] = []
    public var keepsHistory: Bool
    /// Set by a shell that passivates tickets: a ticket missing from memory may then be in
    /// storage, so timers and routing wait for it instead of treating it as unknown.
    public var ticketsMayBeElsewhere = false
    /// A due timer whose ticket is not in memory: `advance` stopped before it.
    public private(set) var timerBlockedOn: String?

    public init(workflow: Workflow, start: Instant, keepsHistory: Bool = true) {
        self.center = SupportCenter(workflow: workflow)
        self.now = start
        self.keepsHistory = keepsHistory
    }

    /// Runs a command at the current virtual instant. A shell that passivates tickets brings
    /// the command's ticket in first (`needsTicket`).
    @discardableResult
    public mutating func execute(_ command: Command) -> Result<[Event], Rejection> {
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

    /// The ticket a command needs in memory before it is decided, when it is not there (a
    /// create names a ticket nobody has yet: looking for it would only find nothing).
    public func needsTicket(for command: Command) -> String? {
        guard ticketsMayBeElsewhere else { return nil }
        if case .create = command { return nil }
        return center.tickets[command.ticketID] == nil ? command.ticketID : nil
    }

    /// Tickets to bring in before time or routing can go on: the ticket of a due timer that
    /// `advance` stopped before, and those of stalled routing proposals.
    public var ticketsToLoad: [String] {
        var ids = center.ticketsToLoad
        if let blocked = timerBlockedOn, center.tickets[blocked] == nil, !ids.contains(blocked) { ids.append(blocked) }
        return ids
    }

    /// Moves time forward to `instant`, firing every timer due on the way at its exact instant.
    /// Returns the events the timers caused. With `ticketsMayBeElsewhere`, stops before a due
    /// timer whose ticket is not in memory (`timerBlockedOn`), leaving `now` at that timer.
    @discardableResult
    public mutating func advance(to instant: Instant) -> [Event] {
        var caused: [Event] = []
        timerBlockedOn = nil
        while let next = timers.nextDue(), next <= instant {
            now = max(now, next)
            if ticketsMayBeElsewhere, let waiting = timers.peekDue(at: now), center.tickets[waiting.ticket] == nil {
                timerBlockedOn = waiting.ticket
                return caused
            }
            guard let due = timers.popDue(at: now) else { break }
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

    /// Brings a passivated ticket back, as the shell read it from storage.
    public mutating func activate(_ ticket: Ticket) {
        if center.tickets[ticket.id] == nil { center.activate(ticket) }
    }

    /// Tickets the shell looked for and did not bring in: routing proposals for them end. A
    /// due timer of a ticket that is no more is dropped (a timer belongs to a live ticket); one
    /// whose ticket could not be read waits `retryAfter` and is tried again, so one unreadable
    /// ticket does not hold back every other timer and command.
    public mutating func ticketsNotFound(_ ids: [String], gone: Bool, retryAfter: TimeSpan = .minutes(1)) {
        center.ticketsNotFound(ids)
        for id in ids where id == timerBlockedOn {
            while let due = timers.peekDue(at: now), due.ticket == id {
                _ = timers.popDue(at: now)
                if !gone { timers.schedule(ticket: id, timer: due.timer, at: now + retryAfter) }
            }
            timerBlockedOn = nil
        }
    }

    /// Routes waiting tickets now (after a restore).
    @discardableResult
    public mutating func dispatchWaiting() -> [Event] {
        let events = center.dispatchWaiting(at: now)
        absorb(events)
        return events
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
