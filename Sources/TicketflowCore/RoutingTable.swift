/// Everything routing decides with: agents, their load, and the tickets waiting in each
/// queue — kept from `RoutingFact`s, so the same table routes a single node's own tickets
/// and, in a cluster, every node's tickets on the routing owner.
///
/// Routing proposes; the ticket's owner decides. `propose` picks agents for waiting tickets
/// and counts each proposal against its agent's capacity at once; the proposal stays
/// pending (its ticket is skipped by later scans) until `resolve` is called with the
/// outcome known, by which time the fact of an accepted assignment has been accounted.
public struct RoutingTable: Sendable {
    public private(set) var workflow: Workflow
    public private(set) var agents: [String: Agent] = [:]
    /// Open tickets assigned to each agent, pending proposals included.
    public private(set) var load: [String: Int] = [:]
    /// Unassigned open tickets per queue, indexed by priority rank, each in arrival order.
    public private(set) var waiting: [String: [WaitingList]] = [:]
    /// Proposed assignments not yet resolved: ticket → agent.
    public private(set) var pending: [String: String] = [:]
    /// Skills needed by waiting tickets that need any, for skills routing.
    private var waitingSkills: [String: [String]] = [:]
    /// Last agent each round-robin queue assigned to.
    private var roundRobinCursor: [String: String] = [:]
    /// Agents serving each queue, sorted by id: derived from `agents` whenever an agent
    /// changes, so routing need not gather and sort agents on every command.
    private var queueMembers: [String: [Agent]] = [:]
    /// Queues where an assignment may have become possible since the last proposal: a ticket
    /// started waiting, or an agent serving the queue freed capacity, came online or changed.
    private var dirtyQueues: Set<String> = []

    /// An assignment routing proposes; the ticket's owner decides it like any `assign` command.
    public struct Proposal: Hashable, Sendable {
        public var ticket: String
        public var agent: String
        public var cause: Cause
    }

    public init(workflow: Workflow) { self.workflow = workflow }

    /// Switches to another workflow's queues and lines; every waiting queue is looked at again.
    public mutating func replaceWorkflow(_ workflow: Workflow) {
        self.workflow = workflow
        rebuildQueueMembers()
        dirtyQueues.formUnion(waiting.keys)
    }

    // MARK: Tickets

    /// Keeps load and queue contents in step with one ticket's change (nil: unknown / gone).
    public mutating func account(before: RoutingFact?, after: RoutingFact?) {
        guard let id = after?.ticket ?? before?.ticket else { return }
        if before?.assignee != after?.assignee || before?.isOpen != after?.isOpen || before == nil {
            if let agent = before?.countedAgent {
                load[agent, default: 0] -= 1
                if let a = agents[agent] { dirtyQueues.formUnion(queues(of: a)) }
            }
            if let agent = after?.countedAgent { load[agent, default: 0] += 1 }
        }
        let wasWaiting = before?.waitingQueue
        let nowWaiting = after?.waitingQueue
        if wasWaiting != nowWaiting || before?.priority != after?.priority {
            if let q = wasWaiting, let before {
                waiting[q]?[before.priority.rank].remove(id)
                if !before.requiredSkills.isEmpty { waitingSkills[id] = nil }
            }
            if let q = nowWaiting, let after {
                waiting[q, default: Array(repeating: WaitingList(), count: 4)][after.priority.rank].append(id)
                if !after.requiredSkills.isEmpty { waitingSkills[id] = after.requiredSkills }
                dirtyQueues.insert(q)
            }
        }
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

    /// Registers or updates an agent; refused (changing nothing) for an unknown line or queue.
    public mutating func upsert(_ agent: Agent) -> Rejection? {
        if let rejection = check(agent) { return rejection }
        restore(agent: agent)
        return nil
    }

    /// Why this workflow would refuse the agent, if it would.
    public func check(_ agent: Agent) -> Rejection? {
        guard workflow.lineIndex(named: agent.line) != nil else {
            return Rejection("unknown_line", "no line named '\(agent.line)'; expected one of \(workflow.lines.map(\.name).joined(separator: ", "))")
        }
        guard agent.capacity >= 0 else { return Rejection("invalid_field", "capacity must not be negative") }
        for queue in agent.queues where workflow.queues[queue] == nil {
            return Rejection("unknown_queue", "no queue named '\(queue)'")
        }
        return nil
    }

    /// Puts an agent in place without checks (an agent recovered from storage).
    public mutating func restore(agent: Agent) {
        if let old = agents[agent.id] { dirtyQueues.formUnion(queues(of: old)) }
        agents[agent.id] = agent
        rebuildQueueMembers()
        dirtyQueues.formUnion(queues(of: agent))
    }

    /// Changes an agent's presence; nil if there is no such agent.
    public mutating func setPresence(_ agentID: String, _ presence: Presence) -> Agent? {
        guard var agent = agents[agentID] else { return nil }
        agent.presence = presence
        agents[agentID] = agent
        for queue in queues(of: agent) {
            if let i = queueMembers[queue]?.firstIndex(where: { $0.id == agentID }) { queueMembers[queue]![i] = agent }
        }
        dirtyQueues.formUnion(queues(of: agent))
        return agent
    }

    /// The queues an agent serves: the ones listed, or else their line's queue.
    public func queues(of agent: Agent) -> [String] {
        if !agent.queues.isEmpty { return agent.queues }
        return workflow.lines.first { $0.name == agent.line }.map { [$0.queue] } ?? []
    }

    private mutating func rebuildQueueMembers() {
        var members: [String: [Agent]] = [:]
        for agent in agents.values { for queue in queues(of: agent) { members[queue, default: []].append(agent) } }
        queueMembers = members.mapValues { $0.sorted { $0.id < $1.id } }
    }

    // MARK: Proposals

    /// Picks agents for waiting tickets, highest priority and longest waiting first, among
    /// agents who are online, serve the queue, have spare capacity and (for `skills`) the
    /// skills needed. Looks only at queues where something changed, at most 10,000 tickets
    /// each; `skip` leaves out tickets that cannot be assigned now (their owner is down).
    public mutating func propose(skip: (String) -> Bool = { _ in false }) -> [Proposal] {
        var proposals: [Proposal] = []
        let dirty = dirtyQueues.sorted()
        dirtyQueues = []
        for queue in dirty where waiting[queue]?.contains(where: { !$0.isEmpty }) ?? false {
            let routing = workflow.queues[queue]?.routing ?? .leastLoaded
            let candidates = queueMembers[queue] ?? []
            guard !candidates.isEmpty else { continue }
            let cause = Cause(.system, "routing:\(routing.rawValue)")
            // Waiting tickets are read in small chunks, each looked at once: a proposed ticket
            // stays in its list (pending) and counts as skipped, like one that cannot be placed.
            var skipped = 0, looked = 0
            scan: while looked < 10_000 {
                let chunk = waitingTickets(in: queue, limit: skipped + 64).dropFirst(skipped)
                if chunk.isEmpty { break }
                for ticketID in chunk {
                    looked += 1
                    skipped += 1
                    if pending[ticketID] != nil || skip(ticketID) { continue }
                    guard let agent = pick(from: candidates, skills: waitingSkills[ticketID] ?? [], queue: queue, routing: routing) else {
                        if routing == .skills { continue }
                        break scan  // nobody has capacity: later tickets cannot be placed either
                    }
                    if routing == .roundRobin { roundRobinCursor[queue] = agent }
                    pending[ticketID] = agent
                    load[agent, default: 0] += 1
                    proposals.append(Proposal(ticket: ticketID, agent: agent, cause: cause))
                }
            }
        }
        return proposals
    }

    /// Ends a proposal once the owner has decided it (its fact, if any, already accounted):
    /// the agent's pending count goes, and a refused ticket is back in the scan.
    public mutating func resolve(_ ticket: String) {
        guard let agent = pending.removeValue(forKey: ticket) else { return }
        load[agent, default: 0] -= 1
        if let a = agents[agent] { dirtyQueues.formUnion(queues(of: a)) }
    }

    /// Asks for another look at every queue that has waiting tickets (a node came back, say).
    public mutating func markAllQueuesDirty() { dirtyQueues.formUnion(waiting.keys) }

    /// The agent a ticket goes to, in one pass over the queue's agents (sorted by id, so ties
    /// go to the lowest id): online, below capacity, with the skills if the queue routes by skill.
    func pick(from candidates: [Agent], skills: [String], queue: String, routing: RoutingPolicy) -> String? {
        let needed = routing == .skills && !skills.isEmpty ? Set(skills) : nil
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
}
