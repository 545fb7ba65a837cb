import Foundation
import Logging
import TicketflowCore
import TicketflowRuntime
import TicketflowStorage
import TicketflowWorkflow

/// The node's shell: one actor that performs what its `NodeStateMachine` asks for against a
/// `Store` and a `Clock`, and nothing else. Decisions happen in the machine, in memory; their
/// events are written to SQLite by group commit, and a request is answered only after its
/// commit.
///
/// While one batch is being written, new commands are decided and collected into the next
/// batch (the actor is re-entrant at the commit's `await`), so throughput is bounded by the
/// rows per second SQLite can take, not by fsyncs per second. If a commit fails the node
/// stops taking work: memory is ahead of disk, and a restart from disk is the only safe state.
public actor DurableNode {
    private let store: Store
    private let clock: any Clock
    private let logger: Logger
    private let observer: (any NodeObserver)?
    private var machine: NodeStateMachine
    /// Requests waiting for a batch to commit, by batch number.
    private var waiters: [Int: [CheckedContinuation<Void, any Error>]] = [:]
    private var waiterCount = 0
    private var committing = false
    /// In a replicated partition: where batches get their place in the log and their majority.
    private let replicator: (any BatchReplicator)?
    /// The last batch whose requests may be answered: committed here and, when replicated,
    /// held by a majority.
    private var answeredNumber = 0
    /// Workflow compiles running now (each on a thread of its own).
    private var compiling = 0
    /// Older workflow versions compiled for explanations, by label (see `DurableNode+Explain`).
    var explainedWorkflows: [String: Workflow] = [:]
    private var sleeper: Task<Void, Never>?
    private var sleepingUntil: Instant?
    /// In a cluster: where the routing facts of committed changes go (to the routing owner).
    private var routingFactSink: (@Sendable ([RoutingFact]) -> Void)?
    /// In a cluster: agents stored on this node, which are the routing owner's when this node
    /// is it (see `DurableNode+Cluster.swift`). Tickets here are routed by the routing owner.
    var keptAgents: [String: Agent] = [:]

    /// Most requests that may wait for their commit at once; past it a request is refused
    /// with `unavailable` (503, Retry-After) instead of queueing without bound.
    public static let waiterLimit = 10_000
    /// Most workflow compiles at once: one per core of the machines we run on, so replacing
    /// workflows can never take every core from the requests.
    public static let compileLimit = 1
    /// Longest the timer loop sleeps before re-reading the clock, so a wall-clock jump is
    /// noticed within this bound even without new timers.
    public static let maximumSleep = TimeSpan.seconds(1)

    /// Webhook hosts inside the network the node's configuration admits (`--allow-webhook-host`).
    public nonisolated let allowedWebhookHosts: Set<String>

    /// Tickets idle this long leave memory (their state is in SQLite); ten minutes by default.
    public func setPassivation(after span: TimeSpan) { machine.passivateAfter = span }

    /// Opens (or creates) a node on a store. The workflow last put over the API wins over
    /// `defaultWorkflow`, so a crash never silently reverts a replaced workflow.
    public init(store: Store, defaultWorkflow: (workflow: Workflow, source: String, origin: WorkflowOrigin), clock: any Clock,
                logger: Logger = Logger(label: "ticketflow.node"), observer: (any NodeObserver)? = nil,
                admitsTicketNumber: (@Sendable (TicketNumber) -> Bool)? = nil, agentsAreRemote: Bool = false,
                allowedWebhookHosts: Set<String> = [], replicator: (any BatchReplicator)? = nil) throws {
        self.store = store
        self.replicator = replicator
        self.allowedWebhookHosts = allowedWebhookHosts
        self.clock = clock
        self.logger = logger
        self.observer = observer
        let recovered = try store.recover()
        var workflow = defaultWorkflow.workflow
        var source = defaultWorkflow.source
        var activation: WorkflowActivation?
        if let stored = recovered.workflow, stored.origin == .api {
            guard let kept = WorkflowLoader.load(text: stored.source, name: "stored-workflow.yaml", allowedWebhookHosts: allowedWebhookHosts).workflow else {
                throw Store.StoreError.corrupt("the stored workflow \(stored.label) no longer compiles")
            }
            workflow = kept
            source = stored.source
            logger.notice("keeping workflow \(stored.label) replaced over the API at \(stored.at); \(defaultWorkflow.origin) is not used")
        } else if recovered.workflow?.source != source {
            activation = WorkflowActivation(label: workflow.label, source: source, origin: defaultWorkflow.origin, at: clock.now())
        }
        var machine = NodeStateMachine(workflow: workflow, source: source, start: clock.now(),
                                       lastTicketNumber: recovered.lastTicketNumber, admitsTicketNumber: admitsTicketNumber)
        if agentsAreRemote {
            machine.setAgentsAreRemote()
            keptAgents = Dictionary(uniqueKeysWithValues: recovered.agents.map { ($0.id, $0) })
        } else {
            for agent in recovered.agents { machine.restore(agent: agent) }
        }
        // Open tickets and tickets with pending timers come back as routing and the timer
        // queue see them; their snapshots stay on disk until a command, a timer or routing
        // needs them (decoding every snapshot made restarts take seconds per 100k tickets).
        var restored = 0
        try store.recoverTickets(solved: workflow.solvedStatuses) { ticket in
            machine.restore(fact: ticket.routingFact(solved: workflow.solvedStatuses), timers: ticket.timers)
            restored += 1
        }
        if let activation { machine.record(activation) }
        self.machine = machine
        logger.info("recovered \(recovered.tickets) tickets (\(restored) open or with timers, left on disk until needed), \(recovered.agents.count) agents, \(recovered.events) journal events")
    }

    /// Fires timers that fell due while the node was down (once each, recording how late),
    /// routes waiting tickets, and commits — call once after `init`, before serving.
    /// Returns how many overdue timers fired.
    public func start() async throws -> Int {
        try settle()
        machine.dispatchWaiting(at: clock.now())
        try settle()
        let fired = machine.takeAcceptedEvents()
        if !fired.isEmpty { observer?.accepted(fired) }
        // On disk here is enough: nobody waits for an answer yet, and the followers may not be
        // reachable before the node has joined its cluster.
        try await waitWritten(machine.lastDecidedBatch)
        return fired.filter { if case .timerFired = $0.change { return true } else { return false } }.count
    }

    public var workflow: Workflow { machine.workflow }
    /// The workflow and how many times it was replaced since start, for those who follow it.
    public var workflowAndGeneration: (Workflow, Int) { (machine.workflow, machine.workflowGeneration) }
    public var workflowText: String { machine.workflowSource }

    // MARK: Commands

    /// Creates a ticket. With an idempotency key seen before with the same `request`
    /// fingerprint, returns the ticket it created; with another request, refuses.
    public func create(_ draft: NewTicket, idempotencyKey key: String?, request: String = "") async throws -> (ticket: Ticket, replayed: Bool) {
        try await admitRequest()
        while true {
            var stored: KeyedCreate?
            if let key, !machine.knowsCreateKey(key) { stored = try read { try store.create(forIdempotencyKey: key) } }
            let outcome = machine.create(draft, idempotencyKey: key, request: request, stored: stored, at: clock.now())
            if let answer = try await answered(outcome) { return answer }
        }
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
        try await admitRequest()
        let key = idempotencyKey.map { CommandKey(ticket: command.ticketID, key: $0) }
        while true {
            var stored: String?
            if let key, !machine.knowsCommandKey(key) { stored = try read { try store.request(forCommandKey: key) } }
            let outcome = machine.execute(command, key: key, request: request, storedRequest: stored, at: clock.now())
            if let answer = try await answered(outcome) { return answer }
        }
    }

    public func upsert(_ agent: Agent) async throws {
        try await admitRequest()
        while try await perform(machine.upsert(agent, at: clock.now())) == nil {}
    }

    public func setPresence(_ agentID: String, _ presence: Presence) async throws -> Agent {
        try await admitRequest()
        while try await perform(machine.setPresence(agentID, presence, at: clock.now())) == nil {}
        guard let agent = machine.node.center.agents[agentID] else { throw NodeError.notFound(agentID) }
        return agent
    }

    /// Replaces the workflow: checked first, on a thread of its own (a large workflow takes a
    /// while to compile, and requests go on meanwhile); a bad one changes nothing and returns
    /// every diagnostic. At most `compileLimit` compiles run at once; more are refused (503).
    public func replaceWorkflow(source: String) async throws -> (workflow: Workflow, warnings: [Diagnostic]) {
        try await admitRequest()
        guard compiling < Self.compileLimit else {
            throw NodeError.unavailable("\(compiling) workflows are being compiled; try again shortly")
        }
        compiling += 1
        let outcome = await WorkflowLoader.loadOnOwnThread(text: source, allowedWebhookHosts: allowedWebhookHosts)
        compiling -= 1
        guard let workflow = outcome.workflow else { throw NodeError.invalidWorkflow(outcome.diagnostics) }
        while try await perform(machine.replaceWorkflow(workflow, source: source, at: clock.now())) == nil {}
        logger.notice("workflow replaced over the API: now \(workflow.label)")
        return (workflow, outcome.warnings)
    }

    /// Writes an agent record without routing anything here (the routing owner's agents).
    func commitAgent(_ agent: Agent) async throws {
        try await admitRequest()
        _ = try await perform(machine.keep(agent: agent))
    }

    // MARK: Performing the machine's actions

    /// Carries out a decision: brings in the tickets it needs (the caller then submits the
    /// request again: nil), or waits for its batch to commit and names the ticket to answer with.
    private func perform(_ outcome: NodeStateMachine.Decided) async throws -> (id: String, replayed: Bool)? {
        switch outcome {
        case .needs(let ids, let own):
            // The command's own ticket must come in, or the command fails; a ticket only a due
            // timer or routing wanted is let go of when it cannot be read (logged, tried again
            // later), so one unreadable snapshot does not fail unrelated requests.
            if let own { try bringIn([own]) }
            let others = ids.filter { $0 != own }
            if !others.isEmpty {
                do { try bringIn(others) } catch { logger.error("tickets \(others) wait for storage: \(error)") }
            }
            if let own, machine.ticketInMemory(own) == nil {
                observer?.rejected("unknown_ticket")
                throw NodeError.notFound(own)
            }
            return nil
        case .rejected(let error):
            if case .rejected(let r) = error { observer?.rejected(r.code.rawValue) }
            if case .notFound = error { observer?.rejected("unknown_ticket") }
            kickCommit()   // timers that fell due before the command still commit
            throw error
        case .accepted(let id, let number), .replayed(let id, let number):
            // The command is decided and will commit: routing that cannot read a ticket now
            // leaves it waiting (logged), it does not fail the command.
            do { try settle() } catch { logger.error("routing after a command waits for storage: \(error)") }
            reportAccepted()
            wakeTimerLoopIfSooner()
            try await waitCommitted(number)
            if case .replayed = outcome { return (id, true) }
            return (id, false)
        }
    }

    /// Performs a decision about a ticket and answers with the ticket as committed.
    private func answered(_ outcome: NodeStateMachine.Decided) async throws -> (ticket: Ticket, replayed: Bool)? {
        guard let (id, replayed) = try await perform(outcome) else { return nil }
        guard let ticket = try ticket(id) else { throw NodeError.notFound(id) }
        return (ticket, replayed)
    }

    /// Lets the machine go on with time and routing, bringing in what it asks for. A read
    /// error ends the proposals that needed it (their tickets keep waiting) and is thrown.
    private func settle() throws {
        defer { kickCommit() }
        // Each round brings in every ticket asked for; a handful of rounds covers timers
        // whose firing routes, and routing whose assignments route again.
        for _ in 0..<64 {
            machine.advance(to: clock.now())
            let ids = machine.ticketsToLoad
            if ids.isEmpty { break }
            try bringIn(ids)
        }
    }

    /// Reads tickets the machine asked for. When the read fails, the machine lets go of what
    /// waited for them (`loadFailed`) before the error goes to the caller, so the next request
    /// is not stopped by the same ticket.
    private func bringIn(_ ids: [String]) throws {
        do { try load(ids) } catch {
            machine.loadFailed(ids)
            throw error
        }
    }

    /// Reads tickets from their snapshots and hands them to the machine.
    private func load(_ ids: [String]) throws {
        let found = try read { try store.tickets(ids: ids) }
        machine.loaded(ids.compactMap { found[$0] }, missing: ids.filter { found[$0] == nil }, at: clock.now())
    }

    /// A storage read; its failure reaches the caller as `unavailable`, never as "no such ticket".
    private func read<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            logger.error("storage read failed: \(error)")
            throw NodeError.unavailable("storage could not be read: \(error)")
        }
    }

    /// Lets a request in: refused while the node has failed or too many requests wait for
    /// their commit; held back (back-pressure) while the batch being filled is full, until the
    /// batch being written is on disk and the full one has taken its place.
    /// The outbox's own records pass the waiters' limit (`waiters: false`): one deliverer sends
    /// them, a few at a time, and refusing them would send their notifications again.
    private func admitRequest(waiters limited: Bool = true) async throws {
        if let failure = machine.failure { throw NodeError.unavailable(failure) }
        if let refusal = replicator?.refusal() { throw NodeError.unavailable(refusal) }
        guard !limited || waiterCount < Self.waiterLimit else {
            throw NodeError.unavailable("the node has \(waiterCount) requests waiting for their commit; try again shortly")
        }
        while machine.isBatchFull { try await waitWritten(machine.committedNumber + 1) }
    }

    private func kickCommit() {
        guard !committing, let action = machine.nextCommit() else { return }
        committing = true
        Task { await self.commitLoop(first: action) }
    }

    private func commitLoop(first: NodeStateMachine.CommitAction) async {
        var next: NodeStateMachine.CommitAction? = first
        while let action = next {
            let started = ContinuousClock.now
            do {
                if let replicator {
                    // The batch goes to the followers while it is written here.
                    let mark = try replicator.propose(action.batch)
                    try await store.commit(action.batch, position: mark)
                    awaitMajority(action.number, mark, replicator)
                } else {
                    try await store.commit(action.batch)
                }
            } catch {
                stop(because: error)
                return
            }
            let elapsed = ContinuousClock.now - started
            observer?.committed(batchEvents: action.batch.events.count,
                                seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            let facts = machine.committed(action)
            if let sink = routingFactSink, !facts.isEmpty { sink(facts) }
            if replicator == nil { answer(upTo: action.number) }
            resumeLocalWaiters()
            next = machine.nextCommit()
        }
        committing = false
    }

    /// A commit failed, or this node leads its partition no more: memory is ahead of what may
    /// be answered, so the node stops taking work; every waiting request gets 503.
    private func stop(because error: any Error) {
        let reason: String
        if let stopped = error as? ReplicationStopped {
            reason = "this node no longer leads its partition: \(stopped)"
            logger.critical("\(reason); it stops acknowledging and firing timers")
        } else {
            reason = "commit failed: \(error)"
            logger.critical("commit failed; the node stops taking work and must be restarted: \(error)")
            replicator?.localWriteFailed(reason)
        }
        machine.commitFailed(reason)
        for (_, list) in waiters { for w in list { w.resume(throwing: NodeError.unavailable(reason)) } }
        for (_, list) in localWaiters { for w in list { w.resume(throwing: NodeError.unavailable(reason)) } }
        waiters = [:]
        localWaiters = [:]
        waiterCount = 0
        committing = false
    }

    /// Answers the batch's requests once a majority holds it; 503 when it does not in time.
    private func awaitMajority(_ number: Int, _ mark: LogMark, _ replicator: any BatchReplicator) {
        Task {
            do {
                try await replicator.acknowledged(mark)
                self.answer(upTo: number)
            } catch let stopped as ReplicationStopped {
                self.stop(because: stopped)
            } catch {
                self.refuse(upTo: number, because: "\(error)")
            }
        }
    }

    private func answer(upTo number: Int) {
        answeredNumber = max(answeredNumber, number)
        settleWaiters(upTo: number, failing: nil)
    }

    private func refuse(upTo number: Int, because reason: String) {
        settleWaiters(upTo: number, failing: NodeError.unavailable("not acknowledged by a majority of the partition's replicas: \(reason)"))
    }

    /// Wakes the requests waiting for batches up to `number`: answered, or failed with `error`.
    private func settleWaiters(upTo number: Int, failing error: NodeError?) {
        for n in waiters.keys.sorted() where n <= number {
            let list = waiters.removeValue(forKey: n)!
            waiterCount -= list.count
            for w in list {
                if let error { w.resume(throwing: error) } else { w.resume() }
            }
        }
    }

    /// Batches on disk here, waited for where nobody is answered (start, back-pressure).
    private var localWaiters: [Int: [CheckedContinuation<Void, any Error>]] = [:]

    private func resumeLocalWaiters() {
        for n in localWaiters.keys.sorted() where n <= machine.committedNumber {
            for w in localWaiters.removeValue(forKey: n)! { w.resume() }
        }
    }

    /// Waits until batch `number` is on disk here (not necessarily acknowledged).
    private func waitWritten(_ number: Int) async throws {
        if machine.committedNumber >= number { return }
        if let failure = machine.failure { throw NodeError.unavailable(failure) }
        kickCommit()
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            localWaiters[number, default: []].append(c)
        }
    }

    private func waitCommitted(_ number: Int) async throws {
        if answeredNumber >= number { return }
        if let failure = machine.failure { throw NodeError.unavailable(failure) }
        kickCommit()
        waiterCount += 1
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            waiters[number, default: []].append(c)
        }
    }

    /// Fires what is due, then waits for everything decided to be committed (graceful
    /// shutdown, reads that must see every answered request).
    public func flush() async throws {
        if let failure = machine.failure { throw NodeError.unavailable(failure) }
        try settle()
        reportAccepted()
        try await waitCommitted(machine.lastDecidedBatch)
    }

    // MARK: Timers and passivation

    /// Fires due timers on the clock until cancelled; passivates idle tickets every ten seconds.
    public func runTimers() async {
        var lastSweep = clock.now()
        while !Task.isCancelled && machine.failure == nil {
            // A replicated partition's timers fire only while its batches can be acknowledged
            // (this node leads, its lease is trusted, a majority is in sync): never twice.
            if replicator?.refusal() == nil {
                do { try settle() } catch { logger.error("timers wait for storage: \(error)") }
            }
            reportAccepted()
            let now = clock.now()
            if now - lastSweep >= .seconds(10) { machine.passivateIdle(at: now); lastSweep = now }
            let wake = machine.nextWake(after: now, maximum: Self.maximumSleep)
            let delay = wake.millis - now.millis
            // Sleeping in a task of its own lets a command that arms an earlier timer cut the
            // sleep short (`wakeTimerLoopIfSooner`); a cancelled sleep is simply a wake-up.
            let task = Task.detached { _ = try? await Task.sleep(for: .milliseconds(delay)) }
            sleeper = task
            sleepingUntil = wake
            await task.value
            sleeper = nil
            sleepingUntil = nil
        }
    }

    private func reportAccepted() {
        let events = machine.takeAcceptedEvents()
        if !events.isEmpty { observer?.accepted(events) }
    }

    private func wakeTimerLoopIfSooner() {
        if let until = sleepingUntil, let next = machine.nextTimerDue(), next < until { sleeper?.cancel() }
    }

    /// Passivates idle tickets now (the timer loop does this every ten seconds).
    public func passivateNow() { machine.passivateIdle(at: clock.now()) }

    // MARK: Reads

    /// A ticket as the node knows it (from memory, or its snapshot when passivated).
    public func ticket(_ id: String) throws -> Ticket? {
        if let t = machine.ticketInMemory(id) { return t }
        return try read { try store.ticket(id) }
    }

    public func agents() -> [Agent] { machine.node.center.agents.values.sorted { $0.id < $1.id } }
    public func agent(_ id: String) -> Agent? { machine.node.center.agents[id] }
    public func load(of agent: String) -> Int { machine.node.center.load(of: agent) }

    /// An agent's open tickets: those in memory, and those passivated (from their snapshots).
    public func openTickets(of agent: String) throws -> [Ticket] {
        let center = machine.node.center
        var found = Dictionary(uniqueKeysWithValues: center.openTickets(of: agent).map { ($0.id, $0) })
        for ticket in try read({ try store.tickets(assignedTo: agent, solved: workflow.solvedStatuses) })
        where found[ticket.id] == nil && center.tickets[ticket.id] == nil {
            found[ticket.id] = ticket
        }
        return found.values.sorted { TicketNumber.listsFirst($0.id, before: $1.id) }
    }

    /// How many tickets wait in a queue, exactly, from the routing state.
    public func waitingCount(in queue: String) -> Int { machine.node.center.routing.waitingCount(in: queue) }

    /// How long the longest-waiting ticket of a queue has waited (since its last change),
    /// from the first ticket of each priority's waiting list.
    public func longestWait(in queue: String) throws -> TimeSpan {
        let now = clock.now()
        let center = machine.node.center
        let ids = center.routing.longestWaiting(in: queue)
        let stored = try read { try store.tickets(ids: ids.filter { center.tickets[$0] == nil }) }
        return ids.compactMap { center.tickets[$0] ?? stored[$0] }.map { now - $0.updatedAt }.max() ?? TimeSpan(millis: 0)
    }

    /// A page of a queue's waiting tickets, in the order they will be assigned, with their
    /// waiting times; passivated ones are read from their snapshots.
    public func queueContents(_ queue: String, offset: Int = 0, limit: Int = 1000) throws -> [(ticket: Ticket, waiting: TimeSpan)] {
        let now = clock.now()
        let center = machine.node.center
        let ids = Array(center.waitingTickets(in: queue, limit: offset + limit).dropFirst(offset))
        let stored = try read { try store.tickets(ids: ids.filter { center.tickets[$0] == nil }) }
        return ids.compactMap { center.tickets[$0] ?? stored[$0] }.map { ($0, now - $0.updatedAt) }
    }

    /// Tickets matching a filter, from their snapshots, after every decided change is committed.
    public func tickets(matching filter: TicketFilter) async throws -> [(number: Int64, ticket: Ticket)] {
        try await flush()
        return try read { try store.tickets(matching: filter, now: clock.now()) }
    }

    /// A ticket's journal (its audit trail), nil when there is no such ticket.
    public func events(of id: String) async throws -> [Event]? {
        guard try ticket(id) != nil else { return nil }
        try await flush()
        return try read { try store.events(of: id) }
    }

    /// Every workflow activation recorded, oldest first (the versions events name).
    public func workflowActivations() throws -> [WorkflowActivation] {
        try read { try store.workflowActivations() }
    }

    /// Ticket counts by status and line, and the outbox's, for metrics.
    public func counts() throws -> (tickets: (byStatus: [String: Int], byLine: [String: Int]), outbox: (pending: Int, delivered: Int)) {
        try read { (try store.ticketCounts(), try store.outboxCounts()) }
    }

    public func inMemoryTicket(_ id: String) -> Ticket? { machine.ticketInMemory(id) }
    public var activeTickets: Int { machine.activeTickets }
    public var pendingTimers: Int { machine.pendingTimers }
    public var isHealthy: Bool { machine.failure == nil }

    // MARK: Outbox

    /// Notifications due for delivery.
    public func outboxDue(limit: Int) throws -> [OutboxItem] { try read { try store.outboxDue(at: clock.now(), limit: limit) } }
    /// Why the node takes no writes now (a failed commit, a partition not led here or without
    /// a majority in sync), nil when it does.
    public func writeRefusal() -> String? { machine.failure ?? replicator?.refusal() }

    /// Records delivery outcomes in the journal's next batch and returns once it is committed
    /// (in a replicated partition: on a majority of its replicas, so the replica that takes
    /// over after a failover does not send them again).
    public func recordOutbox(_ marks: [OutboxMark]) async throws {
        guard !marks.isEmpty else { return }
        try await admitRequest(waiters: false)
        _ = try await perform(machine.record(marks))
    }

    // MARK: Cluster

    /// Sends the routing facts of every committed change that can alter routing to `sink`.
    public func publishRoutingFacts(to sink: @escaping @Sendable ([RoutingFact]) -> Void) {
        routingFactSink = sink
        machine.publishesRoutingFacts = true
    }

    func storedOpenRoutingFacts(after: Int64, limit: Int) throws -> [(number: Int64, fact: RoutingFact)] {
        try read { try store.openRoutingFacts(after: after, limit: limit, solved: workflow.solvedStatuses) }
    }
}
