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
    /// Each agent with its load, in a slot that never moves: routing reads and updates loads
    /// by slot, without hashing agent ids.
    private var slots: [Slot] = []
    private var slotOf: [String: Int] = [:]
    /// Unassigned open tickets per queue, indexed by priority rank, each in arrival order.
    public private(set) var waiting: [String: [WaitingList]] = [:]
    /// Proposed assignments not yet resolved: ticket → agent.
    public private(set) var pending: [String: String] = [:]
    /// Skills needed by waiting tickets that need any, for skills routing.
    private var waitingSkills: [String: [String]] = [:]
    /// Last agent each round-robin queue assigned to.
    private var roundRobinCursor: [String: String] = [:]
    /// Slots of the agents serving each queue, sorted by agent id: derived whenever an agent
    /// changes, so routing need not gather and sort agents on every command.
    private var queueMembers: [String: [Int]] = [:]
    /// Per queue, how many of its agents are online with room for another ticket: a queue
    /// with none is not scanned at all (while every agent is busy, most are not).
    private var spare: [String: Int] = [:]
    /// Queues where an assignment may have become possible since the last proposal: a ticket
    /// started waiting, or an agent serving the queue freed capacity, came online or changed.
    private var dirtyQueues: Set<String> = []

    /// An agent, its open tickets (pending proposals included) and the queues it serves.
    private struct Slot: Sendable {
        var agent: Agent
        var load: Int
        var queues: [String]
        var hasRoom: Bool { agent.presence == .online && load < agent.capacity }
    }

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
        for i in slots.indices { slots[i].queues = queues(of: slots[i].agent) }
        rebuildQueueMembers()
        dirtyQueues.formUnion(waiting.keys)
    }

    /// Open tickets assigned to an agent, pending proposals included.
    public func load(of agentID: String) -> Int { slotOf[agentID].map { slots[$0].load } ?? 0 }

    /// Adds `delta` to an agent's load (an agent not registered yet gets a slot, so a ticket
    /// assigned to it before it is known is counted once it is).
    private mutating func addLoad(_ agentID: String, _ delta: Int, markDirty: Bool) {
        let i = slot(for: agentID)
        let hadRoom = slots[i].hasRoom
        slots[i].load += delta
        noteRoomChange(i, hadRoom: hadRoom)
        if markDirty { dirtyQueues.formUnion(slots[i].queues) }
    }

    private mutating func slot(for agentID: String) -> Int {
        if let i = slotOf[agentID] { return i }
        slots.append(Slot(agent: Agent(id: agentID, name: agentID, line: "", capacity: 0), load: 0, queues: []))
        slotOf[agentID] = slots.count - 1
        return slots.count - 1
    }

    private mutating func noteRoomChange(_ i: Int, hadRoom: Bool) {
        let hasRoom = slots[i].hasRoom
        guard hasRoom != hadRoom else { return }
        for queue in slots[i].queues { spare[queue, default: 0] += hasRoom ? 1 : -1 }
    }

    // MARK: Tickets

    /// Keeps load and queue contents in step with one ticket's change (nil: unknown / gone).
    public mutating func account(before: RoutingFact?, after: RoutingFact?) {
        guard let id = after?.ticket ?? before?.ticket else { return }
        if before?.assignee != after?.assignee || before?.isOpen != after?.isOpen || before == nil {
            if let agent = before?.countedAgent { addLoad(agent, -1, markDirty: agents[agent] != nil) }
            if let agent = after?.countedAgent { addLoad(agent, 1, markDirty: false) }
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

    /// How many tickets wait in a queue, exactly (proposed ones included until they are decided).
    public func waitingCount(in queue: String) -> Int {
        waiting[queue]?.reduce(0) { $0 + $1.count } ?? 0
    }

    /// The ticket that has waited longest at each priority (the head of each waiting list).
    public func longestWaiting(in queue: String) -> [String] {
        waiting[queue]?.compactMap { $0.ids(limit: 1).first } ?? []
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
            return Rejection(.unknownLine, "no line named '\(agent.line)'; expected one of \(workflow.lines.map(\.name).joined(separator: ", "))")
        }
        guard agent.capacity >= 0 else { return Rejection(.invalidField, "capacity must not be negative") }
        for queue in agent.queues where workflow.queues[queue] == nil {
            return Rejection(.unknownQueue, "no queue named '\(queue)'")
        }
        return nil
    }

    /// Puts an agent in place without checks (an agent recovered from storage).
    public mutating func restore(agent: Agent) {
        let i = slot(for: agent.id)
        if agents[agent.id] != nil { dirtyQueues.formUnion(slots[i].queues) }
        agents[agent.id] = agent
        slots[i].agent = agent
        slots[i].queues = queues(of: agent)
        rebuildQueueMembers()
        dirtyQueues.formUnion(slots[i].queues)
    }

    /// Changes an agent's presence; nil if there is no such agent.
    public mutating func setPresence(_ agentID: String, _ presence: Presence) -> Agent? {
        guard var agent = agents[agentID], let i = slotOf[agentID] else { return nil }
        agent.presence = presence
        agents[agentID] = agent
        let hadRoom = slots[i].hasRoom
        slots[i].agent = agent
        noteRoomChange(i, hadRoom: hadRoom)
        dirtyQueues.formUnion(slots[i].queues)
        return agent
    }

    /// The queues an agent serves: the ones listed, or else their line's queue.
    public func queues(of agent: Agent) -> [String] {
        if !agent.queues.isEmpty { return agent.queues }
        return workflow.lines.first { $0.name == agent.line }.map { [$0.queue] } ?? []
    }

    private mutating func rebuildQueueMembers() {
        var members: [String: [Int]] = [:]
        for (id, i) in slotOf where agents[id] != nil { for queue in slots[i].queues { members[queue, default: []].append(i) } }
        queueMembers = members.mapValues { $0.sorted { slots[$0].agent.id < slots[$1].agent.id } }
        spare = members.mapValues { $0.filter { slots[$0].hasRoom }.count }
    }

    // MARK: Proposals

    /// Picks agents for waiting tickets, highest priority and longest waiting first, among
    /// agents who are online, serve the queue, have spare capacity and (for `skills`) the
    /// skills needed. Looks only at queues where something changed and some agent has room,
    /// at most 10,000 tickets each; `skip` leaves out tickets that cannot be assigned now
    /// (their owner is down).
    public mutating func propose(skip: (String) -> Bool = { _ in false }) -> [Proposal] {
        var proposals: [Proposal] = []
        let dirty = dirtyQueues.sorted()
        dirtyQueues = []
        for queue in dirty where (spare[queue] ?? 0) > 0 {
            guard let lists = waiting[queue], lists.contains(where: { !$0.isEmpty }) else { continue }
            let routing = workflow.queues[queue]?.routing ?? .leastLoaded
            let candidates = queueMembers[queue] ?? []
            let cause = Cause(.system, "routing:\(routing.rawValue)")
            // Proposals leave the lists as they are (a proposed ticket stays, pending), so they
            // are read in one pass, urgent first; each ticket is looked at once.
            var looked = 0
            scan: for rank in stride(from: 3, through: 0, by: -1) {
                for ticketID in lists[rank] {
                    guard looked < 10_000 else { break scan }
                    looked += 1
                    if pending[ticketID] != nil || skip(ticketID) { continue }
                    guard let slot = pick(from: candidates, skills: waitingSkills[ticketID] ?? [], queue: queue, routing: routing) else {
                        if routing == .skills { continue }
                        break scan  // nobody has capacity: later tickets cannot be placed either
                    }
                    let agent = slots[slot].agent.id
                    if routing == .roundRobin { roundRobinCursor[queue] = agent }
                    pending[ticketID] = agent
                    addLoad(agent, 1, markDirty: false)
                    proposals.append(Proposal(ticket: ticketID, agent: agent, cause: cause))
                    if (spare[queue] ?? 0) == 0 { break scan }
                }
            }
        }
        return proposals
    }

    /// Ends a proposal once the owner has decided it (its fact, if any, already accounted):
    /// the agent's pending count goes, and a refused ticket is back in the scan.
    public mutating func resolve(_ ticket: String) {
        guard let agent = pending.removeValue(forKey: ticket) else { return }
        addLoad(agent, -1, markDirty: agents[agent] != nil)
    }

    /// Asks for another look at every queue that has waiting tickets (a node came back, say).
    public mutating func markAllQueuesDirty() { dirtyQueues.formUnion(waiting.keys) }

    /// The agent a ticket goes to, in one pass over the queue's agents (sorted by id, so ties
    /// go to the lowest id): online, below capacity, with the skills if the queue routes by
    /// skill. Returns the agent's slot.
    func pick(from candidates: [Int], skills: [String], queue: String, routing: RoutingPolicy) -> Int? {
        let needed = routing == .skills && !skills.isEmpty ? Set(skills) : nil
        let last = routing == .roundRobin ? roundRobinCursor[queue] : nil
        var best: Int?, bestLoad = Int.max, firstAble: Int?
        for i in candidates where slots[i].hasRoom {
            let agent = slots[i].agent
            if let needed, !needed.isSubset(of: agent.skills) { continue }
            switch routing {
            case .roundRobin:
                if firstAble == nil { firstAble = i }
                if let last, agent.id <= last { continue }
                return i
            case .leastLoaded, .skills:
                if slots[i].load < bestLoad { best = i; bestLoad = slots[i].load }
            }
        }
        return routing == .roundRobin ? firstAble : best
    }
}
