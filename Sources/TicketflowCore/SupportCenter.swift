/// A whole support center as one value: tickets, agents and queue contents.
///
/// `execute` decides a command with the ticket `Engine`, applies the events, then lets the
/// `Router` assign waiting tickets to agents who can take them. Everything is a pure
/// function of (state, command, now), so simulations and workflow tests replay exactly.
public struct SupportCenter: Sendable {
    public private(set) var engine: Engine
    public private(set) var tickets: [String: Ticket] = [:]
    public private(set) var agents: [String: Agent] = [:]
    /// Open tickets assigned to each agent.
    public private(set) var load: [String: Int] = [:]
    /// Unassigned open tickets per queue, indexed by priority rank, each in arrival order.
    public private(set) var waiting: [String: [WaitingList]] = [:]
    /// Last agent each round-robin queue assigned to.
    var roundRobinCursor: [String: String] = [:]
    /// Agents serving each queue, sorted by id: derived from `agents` whenever an agent
    /// changes, so routing need not gather and sort agents on every command.
    var queueMembers: [String: [Agent]] = [:]
    /// Queues where an assignment may have become possible since the last dispatch: a ticket
    /// started waiting, or an agent serving the queue freed capacity, came online or changed.
    var dirtyQueues: Set<String> = []

    public init(workflow: Workflow) { self.engine = Engine(workflow: workflow) }

    public var workflow: Workflow { engine.workflow }

    /// Replaces the workflow; it decides every event from `now` on. Tickets keep their history.
    public mutating func replaceWorkflow(_ workflow: Workflow) {
        engine = Engine(workflow: workflow)
        rebuildQueueMembers()
        dirtyQueues.formUnion(waiting.keys)
    }

    /// Decides and applies a command, then routes. Returns every event, routing included.
    public mutating func execute(_ command: Command, at now: Instant) -> Result<[Event], Rejection> {
        let id = command.ticketID
        if case let .assign(_, agent?, _) = command, agents[agent] == nil {
            return .failure(Rejection("unknown_agent", "no agent with id '\(agent)'"))
        }
        switch engine.decide(command, for: tickets[id], at: now) {
        case .failure(let rejection): return .failure(rejection)
        case .success(let events):
            for event in events { apply(event) }
            return .success(events + dispatch(at: now))
        }
    }

    /// Folds an event into the center: the ticket, agent load and queue contents.
    public mutating func apply(_ event: Event) {
        let before = tickets[event.ticket]
        var ticket = before ?? Ticket(id: event.ticket, subject: "", description: "", requester: Requester(name: "", email: ""),
                                      channel: .web, priority: .normal, status: "", createdAt: event.at)
        ticket.apply(event)
        tickets[event.ticket] = ticket
        account(from: before, to: ticket)
    }

    /// Puts back a ticket recovered from storage (a restart, or a passivated ticket coming
    /// back), with its agent load and queue place. Routing is left to `dispatch`.
    public mutating func restore(_ ticket: Ticket) {
        let before = tickets[ticket.id]
        tickets[ticket.id] = ticket
        account(from: before, to: ticket)
    }

    /// Puts back an agent recovered from storage, without routing.
    public mutating func restore(agent: Agent) {
        agents[agent.id] = agent
        rebuildQueueMembers()
        dirtyQueues.formUnion(queues(of: agent))
    }

    /// Drops a solved ticket from memory (its state is in storage). Open tickets stay:
    /// routing needs them for queues and agent load. Returns whether it was dropped.
    @discardableResult
    public mutating func passivate(_ id: String) -> Bool {
        guard let ticket = tickets[id], ticket.isSolved(in: workflow) else { return false }
        tickets[id] = nil
        return true
    }

    /// Assigns waiting tickets to agents who can take them now (after a restore, say).
    public mutating func dispatchWaiting(at now: Instant) -> [Event] { dispatch(at: now) }

    /// Keeps agent load and queue contents in step with one ticket's change.
    private mutating func account(from before: Ticket?, to ticket: Ticket) {
        if before?.assignee != ticket.assignee || before?.status != ticket.status || before == nil {
            if let before, let agent = countedAgent(before) {
                load[agent, default: 0] -= 1
                if let a = agents[agent] { dirtyQueues.formUnion(queues(of: a)) }
            }
            if let agent = countedAgent(ticket) { load[agent, default: 0] += 1 }
        }
        let wasWaiting = before.flatMap(waitingQueue)
        let nowWaiting = waitingQueue(ticket)
        if wasWaiting != nowWaiting || before?.priority != ticket.priority {
            if let q = wasWaiting, let before { removeWaiting(before.id, queue: q, rank: before.priority.rank) }
            if let q = nowWaiting {
                waiting[q, default: Array(repeating: WaitingList(), count: 4)][ticket.priority.rank].append(ticket.id)
                dirtyQueues.insert(q)
            }
        }
    }

    private func countedAgent(_ ticket: Ticket) -> String? {
        ticket.isSolved(in: workflow) ? nil : ticket.assignee
    }

    private func waitingQueue(_ ticket: Ticket) -> String? {
        ticket.assignee == nil && !ticket.isSolved(in: workflow) ? ticket.queue : nil
    }

    private mutating func removeWaiting(_ id: String, queue: String, rank: Int) {
        waiting[queue]?[rank].remove(id)
    }

    /// Waiting tickets of a queue in the order they will be assigned: urgent first, then by arrival.
    public func waitingTickets(in queue: String, limit: Int = .max) -> [String] {
        guard let lists = waiting[queue] else { return [] }
        var out: [String] = []
        for rank in stride(from: 3, through: 0, by: -1) where out.count < limit {
            out += lists[rank].ids(limit: limit - out.count)
        }
        return out
    }

    // MARK: Agents

    /// Registers or updates an agent, then routes waiting tickets to whoever can now take them.
    public mutating func upsert(_ agent: Agent, at now: Instant) -> Result<[Event], Rejection> {
        guard workflow.lineIndex(named: agent.line) != nil else {
            return .failure(Rejection("unknown_line", "no line named '\(agent.line)'; expected one of \(workflow.lines.map(\.name).joined(separator: ", "))"))
        }
        guard agent.capacity >= 0 else { return .failure(Rejection("invalid_field", "capacity must not be negative")) }
        for queue in agent.queues where workflow.queues[queue] == nil {
            return .failure(Rejection("unknown_queue", "no queue named '\(queue)'"))
        }
        if let old = agents[agent.id] { dirtyQueues.formUnion(queues(of: old)) }
        agents[agent.id] = agent
        rebuildQueueMembers()
        dirtyQueues.formUnion(queues(of: agent))
        return .success(dispatch(at: now))
    }

    private mutating func rebuildQueueMembers() {
        var members: [String: [Agent]] = [:]
        for agent in agents.values { for queue in queues(of: agent) { members[queue, default: []].append(agent) } }
        queueMembers = members.mapValues { $0.sorted { $0.id < $1.id } }
    }

    /// Changes an agent's presence; going online may assign waiting tickets at once.
    public mutating func setPresence(_ agentID: String, _ presence: Presence, at now: Instant) -> Result<[Event], Rejection> {
        guard var agent = agents[agentID] else { return .failure(Rejection("unknown_agent", "no agent with id '\(agentID)'")) }
        agent.presence = presence
        agents[agentID] = agent
        for queue in queues(of: agent) {
            if let i = queueMembers[queue]?.firstIndex(where: { $0.id == agentID }) { queueMembers[queue]![i] = agent }
        }
        dirtyQueues.formUnion(queues(of: agent))
        return .success(dispatch(at: now))
    }

    /// The queues an agent serves: the ones listed, or else their line's queue.
    public func queues(of agent: Agent) -> [String] {
        if !agent.queues.isEmpty { return agent.queues }
        return workflow.lines.first { $0.name == agent.line }.map { [$0.queue] } ?? []
    }

    // MARK: Routing

    /// Assigns waiting tickets, highest priority and longest waiting first, to agents who
    /// are online, serve the queue, have spare capacity and (for `skills`) the skills needed.
    mutating func dispatch(at now: Instant) -> [Event] {
        var events: [Event] = []
        let dirty = dirtyQueues.sorted()
        dirtyQueues = []
        for queue in dirty where waiting[queue]?.contains(where: { !$0.isEmpty }) ?? false {
            let routing = workflow.queues[queue]?.routing ?? .leastLoaded
            let candidates = queueMembers[queue] ?? []
            guard !candidates.isEmpty else { continue }
            // Waiting tickets are read in small chunks (an assignment removes a ticket from the
            // list, so reading ahead would go stale), each looked at once, at most 10,000 a dispatch.
            var skipped = 0, looked = 0
            scan: while looked < 10_000 {
                let chunk = waitingTickets(in: queue, limit: skipped + 64).dropFirst(skipped)
                if chunk.isEmpty { break }
                for ticketID in chunk {
                    looked += 1
                    guard let ticket = tickets[ticketID], ticket.assignee == nil,
                          let agent = pick(from: candidates, for: ticket, queue: queue, routing: routing) else {
                        if routing == .skills { skipped += 1; continue }
                        break scan  // nobody has capacity: later tickets cannot be placed either
                    }
                    if routing == .roundRobin { roundRobinCursor[queue] = agent }
                    guard case .success(let assigned) = engine.decide(.assign(ticket: ticketID, agent: agent, by: Cause(.system, "routing:\(routing.rawValue)")),
                                                                      for: ticket, at: now) else { skipped += 1; continue }
                    for event in assigned { apply(event) }
                    events += assigned
                }
            }
        }
        return events
    }

    /// The agent a ticket goes to, in one pass over the queue's agents (sorted by id, so ties
    /// go to the lowest id): online, below capacity, with the skills if the queue routes by skill.
    func pick(from candidates: [Agent], for ticket: Ticket, queue: String, routing: RoutingPolicy) -> String? {
        let needed = routing == .skills && !ticket.requiredSkills.isEmpty ? Set(ticket.requiredSkills) : nil
        let last = routing == .roundRobin ? roundRobinCursor[queue] : nil
        var best: String?, bestLoad = Int.max, firstAble: String?
        for agent in candidates where agent.presence == .online {
            let l = load[agent.id] ?? 0
            guard l < agent.capacity else { continue }
            if let needed, !needed.isSubset(of: agent.skills) { continue }
            switch routing {
            case .roundRobin:
                if firstAble == nil { firstAble = agent.id }
                if let last, agent.id <= last { continue }
                return agent.id
            case .leastLoaded, .skills:
                if l < bestLoad { best = agent.id; bestLoad = l }
            }
        }
        return routing == .roundRobin ? firstAble : best
    }

    /// Tickets assigned to an agent and not solved.
    public func openTickets(of agentID: String) -> [Ticket] {
        tickets.values.filter { $0.assignee == agentID && !$0.isSolved(in: workflow) }.sorted { $0.id < $1.id }
    }
}

extension Command {
    /// The ticket a command is about.
    public var ticketID: String {
        switch self {
        case .create(let t): return t.id
        case .update(let id, _, _), .setStatus(let id, _, _), .escalate(let id, _, _), .deescalate(let id, _, _),
             .assign(let id, _, _), .applyMacro(let id, _, _), .timerFired(let id, _):
            return id
        case .comment(let id, _, _, _, _): return id
        }
    }
}
