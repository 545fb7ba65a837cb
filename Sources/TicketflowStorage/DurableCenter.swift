import Foundation
import Logging
import TicketflowCore
import TicketflowRuntime
import TicketflowWorkflow

/// What a node reports as it works, for metrics. Implementations must be cheap and thread-safe.
public protocol NodeObserver: Sendable {
    func accepted(_ events: [Event])
    func rejected(_ code: String)
    func committed(batchEvents: Int, seconds: Double)
}

/// Why a request to the node failed.
public enum NodeError: Error, Sendable {
    case rejected(Rejection)
    case notFound(String)
    case invalidWorkflow([Diagnostic])
    /// The node cannot accept work (a commit failed, or it is shutting down).
    case unavailable(String)
    /// An idempotency key came back with another request on the same ticket.
    case idempotencyKeyReused(ticket: String, key: String)
}

/// The engine made durable: decisions happen in memory on one actor, their events are
/// written to SQLite by group commit, and a request is answered only after its commit.
///
/// While one batch is being written, new commands are decided and collected into the next
/// batch (the actor is re-entrant at the commit's `await`), so throughput is bounded by
/// the rows per second SQLite can take, not by fsyncs per second. If a commit fails the
/// node stops taking work: memory is ahead of disk, and a restart from disk is the only
/// safe state.
public actor DurableCenter {
    nonisolated public let store: Store
    private let clock: any Clock
    private let logger: Logger
    private let observer: (any NodeObserver)?
    private var node: VirtualNode
    private var workflowSource: String
    private var workflowGeneration = 0
    /// Idempotency keys decided but not yet committed; committed ones are looked up in
    /// SQLite, so keys cost no memory and no restart time however many accumulate.
    private var uncommittedKeys: [String: String] = [:]
    private var uncommittedCommandKeys: [CommandKey: String] = [:]
    private var lastNumber: Int64
    private var batch = CommitBatch()
    private var batchNumber = 1
    private var committedNumber = 0
    private var committing = false
    private var waiters: [Int: [CheckedContinuation<Void, any Error>]] = [:]
    private var failure: String?
    private var lastTouched: [String: Instant] = [:]
    private var sleeper: Task<Void, Never>?
    private var sleepingUntil: Instant?
    /// Tickets idle this long are dropped from memory (their state is in SQLite), open or solved.
    public var passivateAfter = TimeSpan.minutes(10)
    /// Which ticket numbers this node may mint — in a cluster, those whose partition it owns,
    /// so ids are unique cluster-wide without coordination. Nil: every number.
    private let admitsTicketNumber: (@Sendable (Int64) -> Bool)?
    /// In a cluster: agents stored on this node, which are the routing owner's when this node
    /// is it (see `DurableCenter+Cluster.swift`). Tickets here are routed by the routing owner.
    var keptAgents: [String: Agent] = [:]
    /// In a cluster: where the routing facts of committed changes go (to the routing owner).
    var routingFactSink: (@Sendable ([RoutingFact]) -> Void)?
    /// Tickets whose routing facts changed in the batch being filled, and in the one being written.
    private var routingDirty: Set<String> = []

    /// What a restart found and did, for the log and for tests.
    public struct StartReport: Sendable {
        public var tickets: Int
        public var agents: Int
        public var workflow: String
        public var workflowOrigin: String
        public var overdueTimersFired: Int
        public var seconds: Double
    }

    /// Opens (or creates) a node on a store. The workflow last put over the API wins over
    /// `defaultWorkflow`, so a crash never silently reverts a replaced workflow.
    public init(store: Store, defaultWorkflow: (workflow: Workflow, source: String, origin: String), clock: any Clock,
                logger: Logger = Logger(label: "ticketflow.node"), observer: (any NodeObserver)? = nil,
                admitsTicketNumber: (@Sendable (Int64) -> Bool)? = nil, agentsAreRemote: Bool = false) throws {
        self.store = store
        self.admitsTicketNumber = admitsTicketNumber
        self.clock = clock
        self.logger = logger
        self.observer = observer
        let recovered = try store.recover()
        var workflow = defaultWorkflow.workflow
        var source = defaultWorkflow.source
        var activation: WorkflowActivation?
        if let stored = recovered.workflow, stored.origin == "api" {
            guard let kept = WorkflowLoader.load(text: stored.source, name: "stored-workflow.yaml").workflow else {
                throw Store.StoreError.corrupt("the stored workflow \(stored.label) no longer compiles")
            }
            workflow = kept
            source = stored.source
            logger.notice("keeping workflow \(stored.label) replaced over the API at \(stored.at); \(defaultWorkflow.origin) is not used")
        } else if recovered.workflow?.source != source {
            activation = WorkflowActivation(label: workflow.label, source: source, origin: defaultWorkflow.origin, at: clock.now())
        }
        self.workflowSource = source
        self.lastNumber = recovered.lastTicketNumber
        var node = VirtualNode(workflow: workflow, start: clock.now(), keepsHistory: false)
        node.loader = { id in try? store.ticket(id) }
        if agentsAreRemote {
            node.agentsAreRemote = true
            keptAgents = Dictionary(uniqueKeysWithValues: recovered.agents.map { ($0.id, $0) })
        } else {
            for agent in recovered.agents { node.restore(agent: agent) }
        }
        // Open tickets and tickets with pending timers come back as routing and the timer
        // queue see them; their snapshots stay on disk until a command, a timer or routing
        // needs them (decoding every snapshot made restarts take seconds per 100k tickets).
        var restored = 0
        try store.recoverTickets(solved: workflow.solvedStatuses) { ticket in
            node.restore(fact: ticket.routingFact(solved: workflow.solvedStatuses), timers: ticket.timers)
            restored += 1
        }
        self.node = node
        if let activation { batch.workflow = activation }
        logger.info("recovered \(recovered.tickets) tickets (\(restored) open or with timers, left on disk until needed), \(recovered.agents.count) agents, \(recovered.events) journal events")
    }

    /// Fires timers that fell due while the node was down (once each, recording how late),
    /// routes waiting tickets, and commits — call once after `init`, before serving.
    public func start() async throws -> Int {
        let fired = node.advance(to: clock.now())
        let routed = node.dispatchWaiting()
        enqueue(fired + routed)
        try await commitPending()
        return fired.filter { if case .timerFired = $0.change { return true } else { return false } }.count
    }

    public var workflow: Workflow { node.center.workflow }
    /// The workflow and how many times it was replaced since start, for those who follow it.
    public var workflowAndGeneration: (Workflow, Int) { (node.center.workflow, workflowGeneration) }
    public var workflowText: String { workflowSource }

    // MARK: Commands

    /// Creates a ticket. With an idempotency key seen before, returns the ticket it created.
    public func create(_ draft: NewTicket, idempotencyKey: String?) async throws -> (ticket: Ticket, replayed: Bool) {
        try checkAvailable()
        if let key = idempotencyKey, let existing = try uncommittedKeys[key] ?? store.ticketID(forIdempotencyKey: key) {
            // The ticket may sit in the batch being filled or in the one being written.
            try await commitPending()
            guard let ticket = try ticket(existing) else { throw NodeError.notFound(existing) }
            return (ticket, true)
        }
        var new = draft
        var number = lastNumber + 1
        if let admits = admitsTicketNumber {
            while !admits(number) { number += 1 }
        }
        new.id = String(number)
        _ = try decide(.create(new))
        lastNumber = number
        if let key = idempotencyKey {
            uncommittedKeys[key] = new.id
            batch.idempotencyKeys[key] = new.id
        }
        try await commitPending()
        guard let ticket = node.center.tickets[new.id] ?? (try? store.ticket(new.id)) else { throw NodeError.notFound(new.id) }
        return (ticket, false)
    }

    /// Runs a command on an existing ticket; returns the ticket after it, once committed.
    public func execute(_ command: Command) async throws -> Ticket {
        try await execute(command, idempotencyKey: nil, request: "").ticket
    }

    /// Runs a command on an existing ticket at most once per idempotency key: the key is
    /// committed with the command's events, and a retry carrying it (the same `request`
    /// fingerprint) gets the ticket as it is now, without the command running again — the
    /// way a client settles an answer lost with a dead connection or node. The same key with
    /// another request is refused. A rejected command records nothing, so its retry is decided anew.
    public func execute(_ command: Command, idempotencyKey: String?, request: String) async throws -> (ticket: Ticket, replayed: Bool) {
        try checkAvailable()
        let key = idempotencyKey.map { CommandKey(ticket: command.ticketID, key: $0) }
        if let key, let seen = try uncommittedCommandKeys[key] ?? store.request(forCommandKey: key) {
            guard seen == request else { throw NodeError.idempotencyKeyReused(ticket: key.ticket, key: key.key) }
            try await commitPending()   // the first run may still be in a batch being written
            guard let ticket = try ticket(command.ticketID) else { throw NodeError.notFound(command.ticketID) }
            return (ticket, true)
        }
        _ = try decide(command)
        if let key {
            uncommittedCommandKeys[key] = request
            batch.commandKeys[key] = request
        }
        try await commitPending()
        guard let ticket = try ticket(command.ticketID) else { throw NodeError.notFound(command.ticketID) }
        return (ticket, false)
    }

    public func upsert(_ agent: Agent) async throws {
        try checkAvailable()
        fireDue()
        switch node.upsert(agent) {
        case .failure(let r): observer?.rejected(r.code); throw NodeError.rejected(r)
        case .success(let events):
            batch.agents[agent.id] = agent
            enqueue(events)
        }
        try await commitPending()
    }

    public func setPresence(_ agentID: String, _ presence: Presence) async throws -> Agent {
        try checkAvailable()
        fireDue()
        switch node.setPresence(agentID, presence) {
        case .failure(let r): observer?.rejected(r.code); throw NodeError.rejected(r)
        case .success(let events):
            batch.agents[agentID] = node.center.agents[agentID]
            enqueue(events)
        }
        try await commitPending()
        return node.center.agents[agentID]!
    }

    /// Replaces the workflow: checked first; a bad one changes nothing and returns every diagnostic.
    public func replaceWorkflow(source: String) async throws -> (workflow: Workflow, warnings: [Diagnostic]) {
        try checkAvailable()
        let outcome = WorkflowLoader.load(text: source, name: "workflow.yaml")
        guard let workflow = outcome.workflow else { throw NodeError.invalidWorkflow(outcome.diagnostics) }
        fireDue()
        node.replaceWorkflow(workflow)
        workflowGeneration += 1
        workflowSource = source
        batch.workflow = WorkflowActivation(label: workflow.label, source: source, origin: "api", at: clock.now())
        try await commitPending()
        logger.notice("workflow replaced over the API: now \(workflow.label)")
        return (workflow, outcome.warnings)
    }

    // MARK: Reads

    /// A ticket as the node knows it (from memory, or its snapshot when passivated).
    public func ticket(_ id: String) throws -> Ticket? {
        if let t = node.center.tickets[id] { return t }
        return try store.ticket(id)
    }

    public func agents() -> [Agent] { node.center.agents.values.sorted { $0.id < $1.id } }
    public func agent(_ id: String) -> Agent? { node.center.agents[id] }
    public func load(of agent: String) -> Int { node.center.load(of: agent) }
    /// An agent's open tickets: those in memory, and those passivated (from their snapshots).
    public func openTickets(of agent: String) throws -> [Ticket] {
        var found = Dictionary(uniqueKeysWithValues: node.center.openTickets(of: agent).map { ($0.id, $0) })
        for ticket in try store.tickets(assignedTo: agent, solved: workflow.solvedStatuses) where found[ticket.id] == nil
            && node.center.tickets[ticket.id] == nil {
            found[ticket.id] = ticket
        }
        return found.values.sorted { ($0.number, $0.id) < ($1.number, $1.id) }
    }

    /// Waiting tickets per queue (at most 1,000), in the order they will be assigned, with
    /// their waiting times; passivated ones are read from their snapshots.
    public func queueContents(_ queue: String) throws -> [(ticket: Ticket, waiting: TimeSpan)] {
        let now = clock.now()
        let ids = node.center.waitingTickets(in: queue, limit: 1000)
        let stored = try store.tickets(ids: ids.filter { node.center.tickets[$0] == nil })
        return ids.compactMap { node.center.tickets[$0] ?? stored[$0] }.map { ($0, now - $0.updatedAt) }
    }

    func inMemoryTicket(_ id: String) -> Ticket? { node.center.tickets[id] }

    /// Writes an agent record without routing anything here (the routing owner's agents).
    func commitAgent(_ agent: Agent) async throws {
        try checkAvailable()
        batch.agents[agent.id] = agent
        try await commitPending()
    }

    public var activeTickets: Int { node.center.tickets.count }
    public var pendingTimers: Int { node.timers.count }
    public var isHealthy: Bool { failure == nil }

    // MARK: Timers and passivation

    /// Fires due timers on the real clock until cancelled; passivates idle tickets.
    public func runTimers() async {
        var lastSweep = clock.now()
        while !Task.isCancelled && failure == nil {
            fireDue()
            kickCommit()
            let now = clock.now()
            if now - lastSweep >= .seconds(10) { passivateIdle(now: now); lastSweep = now }
            var wait = TimeSpan.seconds(1).millis
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

    /// Waits for every decided command to be committed (graceful shutdown).
    public func flush() async throws { try await commitPending() }

    /// Passivates idle solved tickets now (the timer loop does this every ten seconds).
    public func passivateNow() { passivateIdle(now: clock.now()) }

    /// Drops tickets untouched for `passivateAfter`, open or solved, from memory. Their last
    /// change was committed long before (commits take milliseconds), so their snapshot is
    /// their state; routing and the timer queue keep what they need of them.
    private func passivateIdle(now: Instant) {
        let idle = lastTouched.filter { now - $0.value >= passivateAfter }.map(\.key)
        for id in idle where batch.tickets[id] == nil {
            node.passivate(id)
            lastTouched[id] = nil
        }
    }

    // MARK: Decide and commit

    private func checkAvailable() throws {
        if let failure { throw NodeError.unavailable(failure) }
    }

    private func fireDue() {
        let fired = node.advance(to: clock.now())
        if !fired.isEmpty { enqueue(fired) }
    }

    private func decide(_ command: Command) throws -> [Event] {
        fireDue()
        switch node.execute(command) {
        case .failure(let r):
            observer?.rejected(r.code)
            throw r.code == "unknown_ticket" ? NodeError.notFound(command.ticketID) : NodeError.rejected(r)
        case .success(let events):
            enqueue(events)
            return events
        }
    }

    private func enqueue(_ events: [Event]) {
        guard !events.isEmpty else { return }
        observer?.accepted(events)
        batch.events += events
        if routingFactSink != nil {
            for event in events where event.change.affectsRouting { routingDirty.insert(event.ticket) }
        }
        let now = clock.now()
        for event in events {
            if let t = node.center.tickets[event.ticket] {
                batch.tickets[event.ticket] = t
                batch.ticketNumbers[event.ticket] = Int64(event.ticket) ?? 0
                lastTouched[event.ticket] = now
            }
        }
        if let until = sleepingUntil, let next = node.nextTimerDue(), next < until { sleeper?.cancel() }
    }

    private func kickCommit() {
        guard !committing, !batch.isEmpty, failure == nil else { return }
        committing = true
        Task { await self.commitLoop() }
    }

    private func commitLoop() async {
        while !batch.isEmpty {
            let current = batch
            batch = CommitBatch()
            let routed = routingDirty
            routingDirty = []
            let number = batchNumber
            batchNumber += 1
            let started = ContinuousClock.now
            do {
                try await store.commit(current)
            } catch {
                failure = "commit failed: \(error)"
                logger.critical("commit failed; the node stops taking work and must be restarted: \(error)")
                for (_, list) in waiters { for w in list { w.resume(throwing: NodeError.unavailable(failure!)) } }
                waiters = [:]
                committing = false
                return
            }
            let elapsed = ContinuousClock.now - started
            observer?.committed(batchEvents: current.events.count,
                                seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            committedNumber = number
            // Committed keys are found in SQLite from now on.
            for key in current.idempotencyKeys.keys { uncommittedKeys[key] = nil }
            for key in current.commandKeys.keys { uncommittedCommandKeys[key] = nil }
            if let sink = routingFactSink, !routed.isEmpty {
                // The facts as this batch left the tickets: what the routing owner sees is durable.
                let workflow = node.center.workflow
                sink(routed.compactMap { current.tickets[$0]?.routingFact(in: workflow) })
            }
            for n in waiters.keys.sorted() where n <= number {
                for w in waiters[n]! { w.resume() }
                waiters[n] = nil
            }
        }
        committing = false
    }

    /// Returns once everything decided so far is committed: the batch being filled and the
    /// one being written, if any.
    private func commitPending() async throws {
        if let failure { throw NodeError.unavailable(failure) }
        if batch.isEmpty {
            try await waitCommitted(batchNumber - 1)
        } else {
            let n = batchNumber
            kickCommit()
            try await waitCommitted(n)
        }
    }

    private func waitCommitted(_ number: Int) async throws {
        if committedNumber >= number { return }
        if let failure { throw NodeError.unavailable(failure) }
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            waiters[number, default: []].append(c)
        }
    }
}
