import TicketflowCore
import TicketflowRuntime
import TicketflowStorage

/// The durable node's logic as a value, sans I/O (after swift-nio's protocol state machines):
/// it never awaits, never reads a clock and never touches SQLite. The shell (`DurableNode`)
/// hands it inputs — a command at an instant, tickets it read, a batch committed or failed,
/// time passing — and performs what it asks for: bring these tickets in (`ticketsToLoad`),
/// write this batch (`CommitAction`), wake the requests waiting for these batches, sleep
/// until this instant (`nextWake`), send these routing facts on.
///
/// Everything a decision needs is in memory before it is made: a command whose ticket is
/// passivated is answered with `.needs([id])`, and a due timer or a routing proposal whose
/// ticket is passivated stops time or routing until the shell supplies it. Virtual time
/// (tests) and real time (the server) drive the very same machine; only the clock differs.
public struct NodeStateMachine: Sendable {
    /// The decided state: tickets, routing, the timer queue, and the instant of the last decision.
    public private(set) var node: VirtualNode
    public private(set) var workflowSource: String
    /// How many times the workflow was replaced since start, for those who follow it.
    public private(set) var workflowGeneration = 0
    /// Idempotency keys decided but not yet committed; committed ones are looked up in
    /// SQLite by the shell, so keys cost no memory and no restart time however many accumulate.
    private var uncommittedKeys: [String: KeyedCreate] = [:]
    private var uncommittedCommandKeys: [CommandKey: String] = [:]
    private var lastNumber: TicketNumber
    /// Which ticket numbers this node may mint — in a cluster, those whose partition it owns,
    /// so ids are unique cluster-wide without coordination. Nil: every number.
    private let admitsTicketNumber: (@Sendable (TicketNumber) -> Bool)?
    /// The batch being filled, its number, and the last number known committed.
    private var batch = CommitBatch()
    private var batchNumber = 1
    public private(set) var committedNumber = 0
    /// Whether a batch is being written: at most one at a time, so batches commit in order.
    private var writing: Int?
    public private(set) var failure: String?
    private var lastTouched: [String: Instant] = [:]
    /// Tickets idle this long are dropped from memory (their state is in SQLite), open or solved.
    public var passivateAfter = TimeSpan.minutes(10)
    /// In a cluster: routing facts of committed changes go to the routing owner.
    public var publishesRoutingFacts = false
    /// Tickets whose routing facts changed in the batch being filled.
    private var routingDirty: Set<String> = []
    /// Largest number of events one batch collects; past it the batch is written and new
    /// commands wait (back-pressure) rather than grow one transaction without bound.
    public static let batchEventLimit = 20_000

    public init(workflow: Workflow, source: String, start: Instant, lastTicketNumber: TicketNumber,
                admitsTicketNumber: (@Sendable (TicketNumber) -> Bool)?) {
        var node = VirtualNode(workflow: workflow, start: start, keepsHistory: false)
        node.ticketsMayBeElsewhere = true
        self.node = node
        self.workflowSource = source
        self.lastNumber = lastTicketNumber
        self.admitsTicketNumber = admitsTicketNumber
    }

    public var workflow: Workflow { node.center.workflow }

    // MARK: Restoring

    /// Puts back what a restart read: agents (alone) and open tickets as routing and timers see them.
    public mutating func restore(agent: Agent) { node.restore(agent: agent) }
    public mutating func restore(fact: RoutingFact, timers: [(id: String, due: Instant)]) { node.restore(fact: fact, timers: timers) }
    /// In a cluster agents are kept by the routing owner: see `SupportCenter.agentsAreRemote`.
    public mutating func setAgentsAreRemote() { node.agentsAreRemote = true }
    /// Records a workflow activation to be committed with the first batch.
    public mutating func record(_ activation: WorkflowActivation) { batch.workflow = activation }

    // MARK: Bringing tickets in

    /// Tickets the machine needs in memory before time or routing can go on.
    public var ticketsToLoad: [String] { node.ticketsToLoad }

    /// The tickets the shell read; `missing` are those storage does not have. A command's
    /// own ticket may well be missing (the shell answers "no such ticket"); a ticket that a
    /// timer or routing names may not.
    public mutating func loaded(_ tickets: [Ticket], missing: [String], at now: Instant) {
        for ticket in tickets {
            node.activate(ticket)
            lastTouched[ticket.id] = now
        }
        let wanted = Set(ticketsToLoad)
        let missing = missing.filter { wanted.contains($0) }
        if !missing.isEmpty {
            // A timer or a routing fact always belongs to a stored ticket.
            assertionFailure("tickets named by timers or routing are not in storage: \(missing)")
            node.ticketsNotFound(missing, gone: true)
        }
    }

    /// The shell could not read these tickets: their routing proposals end (the tickets keep
    /// waiting and are proposed again when their queue next changes), and a due timer of one
    /// is tried again in a minute — one unreadable snapshot must not stop every other request.
    public mutating func loadFailed(_ ids: [String]) { node.ticketsNotFound(ids, gone: false) }

    // MARK: Time

    /// Fires every timer due at `now` and goes on with stalled routing. Stops early when a
    /// ticket must be brought in first (`ticketsToLoad` is then not empty).
    public mutating func advance(to now: Instant) {
        enqueue(node.advance(to: now), at: now)
        if node.timerBlockedOn == nil, !node.center.stalledProposals.isEmpty {
            enqueue(node.dispatchWaiting(), at: now)
        }
    }

    /// Routes waiting tickets (after a restart).
    public mutating func dispatchWaiting(at now: Instant) {
        enqueue(node.dispatchWaiting(), at: now)
    }

    /// When the timer loop should look again: the next due timer, or in at most `maximum`.
    public mutating func nextWake(after now: Instant, maximum: TimeSpan) -> Instant {
        let latest = now + maximum
        guard let next = node.nextTimerDue() else { return latest }
        return max(now, min(latest, next))
    }

    /// The earliest pending timer.
    public mutating func nextTimerDue() -> Instant? { node.nextTimerDue() }

    /// Drops tickets untouched for `passivateAfter`, open or solved, from memory. Their last
    /// change was committed long before (commits take milliseconds), so their snapshot is
    /// their state; routing and the timer queue keep what they need of them. A ticket in the
    /// batch being filled or written stays.
    public mutating func passivateIdle(at now: Instant) {
        let idle = lastTouched.filter { now - $0.value >= passivateAfter }.map(\.key)
        for id in idle where batch.tickets[id] == nil && !inFlight.contains(id) {
            node.passivate(id)
            lastTouched[id] = nil
        }
    }

    /// Tickets of the batch being written.
    private var inFlight: Set<String> = []

    // MARK: Deciding

    /// What became of a command.
    public enum Decided: Sendable {
        /// Bring these tickets in (`loaded`) and submit the request again. `command` is the
        /// ticket the command itself names, if it is among them: when storage does not have
        /// it either, the answer is "no such ticket".
        case needs([String], command: String?)
        case rejected(NodeError)
        /// Accepted: answer once batch `batch` is committed.
        case accepted(ticket: String, batch: Int)
        /// A retry of a request already decided: answer once `batch` is committed, unchanged.
        case replayed(ticket: String, batch: Int)
    }

    /// Decides a create. `stored` is what storage holds for its idempotency key, if the shell
    /// looked it up (it is asked only when the key is not among the uncommitted ones). A key
    /// seen with the same `request` fingerprint replays the first answer; with another request
    /// it is refused, as for commands.
    public mutating func create(_ draft: NewTicket, idempotencyKey key: String?, request: String, stored: KeyedCreate?,
                                at now: Instant) -> Decided {
        if let failure { return .rejected(.unavailable(failure)) }
        if let key, let existing = uncommittedKeys[key] ?? stored {
            if let seen = existing.request, seen != request {
                return .rejected(.idempotencyKeyReused(ticket: existing.ticket, key: key))
            }
            return .replayed(ticket: existing.ticket, batch: lastDecidedBatch)
        }
        if let needed = pendingLoads(at: now) { return .needs(needed, command: nil) }
        var new = draft
        var number = lastNumber.next
        if let admits = admitsTicketNumber {
            while !admits(number) { number = number.next }
        }
        new.id = number.id
        if case .rejected(let error) = decide(.create(new), at: now) { return .rejected(error) }
        assert(number > lastNumber, "ticket numbers only grow")
        lastNumber = number
        batch.ticketNumbers[new.id] = number
        if let key {
            uncommittedKeys[key] = KeyedCreate(ticket: new.id, request: request)
            batch.idempotencyKeys[key] = KeyedCreate(ticket: new.id, request: request)
        }
        return .accepted(ticket: new.id, batch: lastDecidedBatch)
    }

    /// Whether the machine knows this create key without asking storage.
    public func knowsCreateKey(_ key: String) -> Bool { uncommittedKeys[key] != nil }
    /// Whether the machine knows this command key without asking storage.
    public func knowsCommandKey(_ key: CommandKey) -> Bool { uncommittedCommandKeys[key] != nil }

    /// Decides a command on an existing ticket, at most once per idempotency key: a retry
    /// carrying it with the same `request` fingerprint is answered without running again; the
    /// same key with another request is refused. `storedRequest` is what storage holds for the key.
    public mutating func execute(_ command: Command, key: CommandKey?, request: String, storedRequest: String?, at now: Instant) -> Decided {
        if let failure { return .rejected(.unavailable(failure)) }
        if let key, let seen = uncommittedCommandKeys[key] ?? storedRequest {
            guard seen == request else { return .rejected(.idempotencyKeyReused(ticket: key.ticket, key: key.key)) }
            return .replayed(ticket: command.ticketID, batch: lastDecidedBatch)
        }
        var needed = pendingLoads(at: now) ?? []
        let own = node.needsTicket(for: command)
        if let own, !needed.contains(own) { needed.append(own) }
        if !needed.isEmpty { return .needs(needed, command: own) }
        if case .rejected(let error) = decide(command, at: now) { return .rejected(error) }
        if let key {
            uncommittedCommandKeys[key] = request
            batch.commandKeys[key] = request
        }
        return .accepted(ticket: command.ticketID, batch: lastDecidedBatch)
    }

    /// Registers or updates an agent; routing may assign waiting tickets at once.
    public mutating func upsert(_ agent: Agent, at now: Instant) -> Decided {
        if let failure { return .rejected(.unavailable(failure)) }
        if let needed = pendingLoads(at: now) { return .needs(needed, command: nil) }
        switch node.upsert(agent) {
        case .failure(let r): return .rejected(.rejected(r))
        case .success(let events):
            batch.agents[agent.id] = agent
            enqueue(events, at: now)
            return .accepted(ticket: "", batch: lastDecidedBatch)
        }
    }

    /// Changes an agent's presence; going online may assign waiting tickets at once.
    public mutating func setPresence(_ agentID: String, _ presence: Presence, at now: Instant) -> Decided {
        if let failure { return .rejected(.unavailable(failure)) }
        if let needed = pendingLoads(at: now) { return .needs(needed, command: nil) }
        switch node.setPresence(agentID, presence) {
        case .failure(let r): return .rejected(r.code == .unknownAgent ? .agentNotFound(agentID) : .rejected(r))
        case .success(let events):
            batch.agents[agentID] = node.center.agents[agentID]
            enqueue(events, at: now)
            return .accepted(ticket: "", batch: lastDecidedBatch)
        }
    }

    /// Stores an agent record without routing here (a cluster's routing owner keeps them).
    public mutating func keep(agent: Agent) -> Decided {
        if let failure { return .rejected(.unavailable(failure)) }
        batch.agents[agent.id] = agent
        return .accepted(ticket: "", batch: lastDecidedBatch)
    }

    /// Records what became of notifications in the batch being filled (they commit, and
    /// replicate, with it).
    public mutating func record(_ marks: [OutboxMark]) -> Decided {
        if let failure { return .rejected(.unavailable(failure)) }
        batch.outboxMarks += marks
        return .accepted(ticket: "", batch: lastDecidedBatch)
    }

    /// Replaces the workflow with one already compiled; it decides everything from `now` on.
    public mutating func replaceWorkflow(_ workflow: Workflow, source: String, at now: Instant) -> Decided {
        if let failure { return .rejected(.unavailable(failure)) }
        if let needed = pendingLoads(at: now) { return .needs(needed, command: nil) }
        node.replaceWorkflow(workflow)
        workflowGeneration += 1
        workflowSource = source
        batch.workflow = WorkflowActivation(label: workflow.label, source: source, origin: .api, at: now)
        return .accepted(ticket: "", batch: lastDecidedBatch)
    }

    /// Fires what is due first (a command never overtakes a due timer); returns the tickets
    /// that must come in before anything else is decided.
    private mutating func pendingLoads(at now: Instant) -> [String]? {
        advance(to: now)
        let needed = ticketsToLoad
        return needed.isEmpty ? nil : needed
    }

    private mutating func decide(_ command: Command, at now: Instant) -> Decided {
        switch node.execute(command) {
        case .failure(let r):
            return .rejected(r.code == .unknownTicket ? .notFound(command.ticketID) : .rejected(r))
        case .success(let events):
            enqueue(events, at: now)
            return .accepted(ticket: command.ticketID, batch: lastDecidedBatch)
        }
    }

    /// Events accepted since the shell last asked: for metrics.
    public private(set) var acceptedEvents: [Event] = []
    public mutating func takeAcceptedEvents() -> [Event] {
        defer { acceptedEvents.removeAll(keepingCapacity: true) }
        return acceptedEvents
    }

    private mutating func enqueue(_ events: [Event], at now: Instant) {
        guard !events.isEmpty else { return }
        acceptedEvents += events
        batch.events += events
        if publishesRoutingFacts {
            for event in events where event.change.affectsRouting { routingDirty.insert(event.ticket) }
        }
        var last = ""
        for event in events where event.ticket != last {
            last = event.ticket
            if let t = node.center.tickets[event.ticket] {
                batch.tickets[event.ticket] = t
                lastTouched[event.ticket] = now
            }
        }
    }

    // MARK: Committing

    /// What the shell is asked to write.
    public struct CommitAction: Sendable {
        public var batch: CommitBatch
        public var number: Int
        /// Tickets of this batch whose routing facts changed (in a cluster).
        var routed: Set<String>
    }

    /// Whether requests must wait before more is decided: the batch being filled is full.
    public var isBatchFull: Bool { batch.events.count >= Self.batchEventLimit }

    /// The next batch to write, if none is being written and one is waiting. Batches are
    /// written one at a time, in number order.
    public mutating func nextCommit() -> CommitAction? {
        guard writing == nil, failure == nil, !batch.isEmpty else { return nil }
        let action = CommitAction(batch: batch, number: batchNumber, routed: routingDirty)
        routingDirty = []
        inFlight = Set(batch.tickets.keys)
        batch = CommitBatch()
        writing = batchNumber
        batchNumber += 1
        return action
    }

    /// A batch is on disk. Returns the routing facts to send on (in a cluster): the facts as
    /// this batch left its tickets, so what the routing owner sees is durable.
    public mutating func committed(_ action: CommitAction) -> [RoutingFact] {
        assert(writing == action.number && action.number == committedNumber + 1, "batches commit one at a time, in order")
        writing = nil
        inFlight = []
        committedNumber = action.number
        // Committed keys are found in SQLite from now on.
        for key in action.batch.idempotencyKeys.keys { uncommittedKeys[key] = nil }
        for key in action.batch.commandKeys.keys { uncommittedCommandKeys[key] = nil }
        guard publishesRoutingFacts else { return [] }
        let workflow = self.workflow
        var facts: [RoutingFact] = []
        for id in action.routed {
            if let fact = action.batch.tickets[id]?.routingFact(in: workflow) { facts.append(fact) }
        }
        return facts.sorted { $0.ticket < $1.ticket }
    }

    /// A batch could not be written: memory is ahead of disk, so the node stops taking work.
    public mutating func commitFailed(_ reason: String) {
        failure = reason
        writing = nil
    }

    /// The number of the batch that holds everything decided so far.
    public var lastDecidedBatch: Int { batch.isEmpty ? batchNumber - 1 : batchNumber }

    // MARK: Reads

    public var activeTickets: Int { node.center.tickets.count }
    public var pendingTimers: Int { node.timers.count }
    public func ticketInMemory(_ id: String) -> Ticket? { node.center.tickets[id] }
}
