/// A whole support center as one value: tickets, agents and queue contents.
///
/// `execute` decides a command with the ticket `Engine`, applies the events, then lets the
/// `RoutingTable` propose assignments of waiting tickets to agents who can take them, each
/// decided by the engine like any other command. Everything is a pure function of (state,
/// command, now), so simulations and workflow tests replay exactly.
public struct SupportCenter: Sendable {
    public private(set) var engine: Engine
    public private(set) var tickets: [String: Ticket] = [:]
    /// Agents, their load and the waiting lists, kept from the tickets' routing facts.
    public private(set) var routing: RoutingTable
    /// In a cluster, agents live with the routing owner, not here: assignments then name
    /// agents this center does not hold (the caller has checked them), and routing is done
    /// by the routing owner from the facts this node sends it.
    public var agentsAreRemote = false
    /// Routing proposals whose ticket is not in memory (passivated: its state is in storage,
    /// its routing fact never left `routing`), in the order they were made. Deciding stops at
    /// the first of them until the shell brings the tickets in (`activate`) or reports them
    /// gone (`ticketsNotFound`) and calls `dispatchWaiting` again: the center never reads
    /// storage, so every decision is a function of what is in memory.
    public private(set) var stalledProposals: [RoutingTable.Proposal] = []

    public init(workflow: Workflow) {
        engine = Engine(workflow: workflow)
        routing = RoutingTable(workflow: workflow)
    }

    public var workflow: Workflow { _read { yield engine.workflow } }
    public var agents: [String: Agent] { routing.agents }
    /// Open tickets assigned to an agent.
    public func load(of agentID: String) -> Int { routing.load(of: agentID) }

    /// Replaces the workflow; it decides every event from `now` on. Tickets keep their history.
    public mutating func replaceWorkflow(_ workflow: Workflow) {
        engine = Engine(workflow: workflow)
        routing.replaceWorkflow(workflow)
    }

    /// Decides and applies a command, then routes. Returns every event, routing included.
    public mutating func execute(_ command: Command, at now: Instant) -> Result<[Event], Rejection> {
        let id = command.ticketID
        if case let .assign(_, agent?, _) = command, !agentsAreRemote, routing.agents[agent] == nil {
            return .failure(Rejection(.unknownAgent, "no agent with id '\(agent)'"))
        }
        switch engine.decision(command, for: tickets[id], at: now) {
        case .failure(let rejection): return .failure(rejection)
        case .success(let decision):
            let events = decision.events
            adopt(decision)
            return .success(events + dispatch(at: now))
        }
    }

    /// Takes a decision's ticket as it stands after the events, and follows its routing
    /// changes one by one (so waiting lists see every step, as when applying each event).
    private mutating func adopt(_ decision: consuming Engine.Decision) {
        var previous = decision.routingBefore
        tickets[decision.ticket.id] = decision.ticket
        for fact in decision.routingTrail {
            routing.account(before: previous, after: fact)
            previous = fact
        }
    }

    /// Puts a ticket recovered from storage in memory, with its agent load and queue place.
    /// Routing is left to `dispatch`.
    public mutating func restore(_ ticket: Ticket) {
        let before = tickets[ticket.id]
        tickets[ticket.id] = ticket
        account(from: before, to: ticket)
    }

    /// Counts a ticket that stays in storage (a restart): its queue place and agent load only.
    public mutating func restore(fact: RoutingFact) {
        routing.account(before: nil, after: fact)
    }

    /// Brings a passivated ticket back into memory; its routing fact never left `routing`.
    public mutating func activate(_ ticket: Ticket) { tickets[ticket.id] = ticket }

    /// Makes room for tickets about to be restored.
    public mutating func reserveCapacity(tickets count: Int) { tickets.reserveCapacity(tickets.count + count) }

    /// Puts back an agent recovered from storage, without routing.
    public mutating func restore(agent: Agent) { routing.restore(agent: agent) }

    /// Drops a ticket from memory — its state must be in storage. Its routing fact stays in
    /// `routing`, so an open one still waits in its queue and counts for its agent, and comes
    /// back through `loader` when routing proposes it. Returns whether it was in memory.
    @discardableResult
    public mutating func passivate(_ id: String) -> Bool { tickets.removeValue(forKey: id) != nil }

    /// Assigns waiting tickets to agents who can take them now (after a restore, say).
    public mutating func dispatchWaiting(at now: Instant) -> [Event] { dispatch(at: now) }

    /// Keeps the routing table in step with one ticket's change. Most events change nothing
    /// routing sees, and are let through without building facts.
    private mutating func account(from before: Ticket?, to ticket: Ticket) {
        if let before, before.assignee == ticket.assignee, before.status == ticket.status,
           before.priority == ticket.priority, before.queue == ticket.queue { return }
        routing.account(before: before?.routingFact(in: workflow), after: ticket.routingFact(in: workflow))
    }

    /// Waiting tickets of a queue in the order they will be assigned: urgent first, then by arrival.
    public func waitingTickets(in queue: String, limit: Int = .max) -> [String] {
        routing.waitingTickets(in: queue, limit: limit)
    }

    // MARK: Agents

    /// Registers or updates an agent, then routes waiting tickets to whoever can now take them.
    public mutating func upsert(_ agent: Agent, at now: Instant) -> Result<[Event], Rejection> {
        if let rejection = routing.upsert(agent) { return .failure(rejection) }
        return .success(dispatch(at: now))
    }

    /// Changes an agent's presence; going online may assign waiting tickets at once.
    public mutating func setPresence(_ agentID: String, _ presence: Presence, at now: Instant) -> Result<[Event], Rejection> {
        guard routing.setPresence(agentID, presence) != nil else {
            return .failure(Rejection(.unknownAgent, "no agent with id '\(agentID)'"))
        }
        return .success(dispatch(at: now))
    }

    /// The queues an agent serves: the ones listed, or else their line's queue.
    public func queues(of agent: Agent) -> [String] { routing.queues(of: agent) }

    // MARK: Routing

    /// The tickets routing wants to assign that are not in memory: the shell loads them
    /// before routing can go on.
    public var ticketsToLoad: [String] {
        stalledProposals.lazy.filter { self.tickets[$0.ticket] == nil }.map(\.ticket)
    }

    /// Tickets the shell looked for and could not bring in: their proposals end, and they
    /// stay waiting (a read error) or leave routing's view (a ticket that is no more).
    public mutating func ticketsNotFound(_ ids: [String]) {
        let gone = Set(ids)
        stalledProposals.removeAll { proposal in
            guard gone.contains(proposal.ticket) else { return false }
            routing.resolve(proposal.ticket)
            return true
        }
    }

    /// Decides the routing table's proposals one by one; each assignment runs triggers and
    /// SLA settling like any command. A refused proposal leaves its ticket waiting. Stops,
    /// keeping the rest in order, at a proposal whose ticket is not in memory.
    mutating func dispatch(at now: Instant) -> [Event] {
        var events: [Event] = []
        var proposals = stalledProposals
        stalledProposals = []
        proposals += routing.propose()
        for (index, proposal) in proposals.enumerated() {
            if tickets[proposal.ticket] == nil {
                stalledProposals = Array(proposals[index...])
                return events
            }
            if let ticket = tickets[proposal.ticket], ticket.assignee == nil,
               case .success(let assigned) = engine.decision(.assign(ticket: proposal.ticket, agent: proposal.agent, by: proposal.cause),
                                                             for: ticket, at: now) {
                events += assigned.events
                adopt(assigned)
            }
            routing.resolve(proposal.ticket)
        }
        return events
    }

    /// Tickets in memory assigned to an agent and not solved (a shell that passivates open
    /// tickets adds its stored ones).
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
