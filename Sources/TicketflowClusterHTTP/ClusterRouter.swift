import TicketflowServer
import Foundation
import TicketflowAPI
import Logging
import TicketflowCore
import TicketflowNode
import TicketflowStorage

/// The cluster's routing owner (one node, the owner of the partition of the key `routing`):
/// it keeps every agent and the routing facts of every node's open tickets, proposes
/// assignments with the same `RoutingTable` a node running alone uses, and has each ticket's
/// owner decide them. So any agent can be given any ticket, whichever node holds it.
///
/// What it knows of a node it learns in full (`sync`) when the node is first seen alive and
/// whenever it comes back; in between, nodes send the facts of their committed changes. It
/// proposes only while it holds every live node's tickets — otherwise an agent's load
/// would be undercounted — and never proposes tickets of a node it has not learned.
actor ClusterRouter: AgentDesk {
    let gateway: ClusterGateway
    let node: DurableNode
    let logger: Logger
    private var table: RoutingTable
    /// Routing facts of every open ticket in the cluster, by ticket id.
    private var facts: [String: RoutingFact] = [:]
    /// Tickets seen closed lately, with the version that closed them, so that an older fact
    /// arriving late cannot bring them back; forgotten after a minute.
    private var closed: [String: (version: Int, at: ContinuousClock.Instant)] = [:]
    /// Members whose open tickets this router holds.
    private var synced: Set<String> = []
    /// Tickets whose facts arrived while their node was being learned, per node being learned.
    private var learning: [String: Set<String>] = [:]
    private var dispatching = false
    /// The node's workflow generation the table was last given.
    private var workflowGeneration = 0
    /// Proposals by outcome: decided (the ticket was assigned), declined (its owner found it
    /// taken or closed), failed (its owner did not answer).
    private var outcomes = (decided: 0, declined: 0, failed: 0)
    /// Proposals sent to ticket owners at once, at most.
    static let inFlight = 64

    init(gateway: ClusterGateway, node: DurableNode, logger: Logger) async {
        self.gateway = gateway
        self.node = node
        self.logger = logger
        var table = RoutingTable(workflow: await node.workflow)
        for agent in await node.storedAgents() { table.restore(agent: agent) }
        self.table = table
    }

    // MARK: Facts

    /// Facts a node sends as its changes commit.
    func receive(_ incoming: [RoutingFact]) {
        for fact in incoming {
            learning[gateway.owner(ofTicket: fact.ticket)]?.insert(fact.ticket)
            apply(fact)
        }
        kick()
    }

    private func apply(_ fact: RoutingFact) {
        if let known = facts[fact.ticket], known.version >= fact.version { return }
        if let gone = closed[fact.ticket], gone.version >= fact.version { return }
        let before = facts[fact.ticket]
        if fact.isOpen {
            facts[fact.ticket] = fact
            closed[fact.ticket] = nil
        } else {
            facts[fact.ticket] = nil
            closed[fact.ticket] = (fact.version, .now)
        }
        table.account(before: before, after: fact.isOpen ? fact : nil)
    }

    private func forget(_ ticket: String) {
        guard let before = facts.removeValue(forKey: ticket) else { return }
        table.account(before: before, after: nil)
    }

    /// Learns a member's open tickets afresh, page by page, replacing what was known of them.
    private func sync(_ member: String) async -> Bool {
        learning[member] = []
        defer { learning[member] = nil }
        var fresh: [RoutingFact] = []
        var after: Int64 = -1
        do {
            while true {
                let page = try await gateway.openRoutingFacts(of: member, after: after, limit: RoutingFacts.pageLimit)
                fresh += page.facts
                guard let next = page.next, next > after else { break }
                after = next
            }
        } catch {
            logger.warning("routing: could not learn the tickets of \(member): \(error)")
            return false
        }
        let kept = Set(fresh.map(\.ticket)).union(learning[member] ?? [])
        for id in facts.keys where gateway.owner(ofTicket: id) == member && !kept.contains(id) { forget(id) }
        for fact in fresh { apply(fact) }
        synced.insert(member)
        table.markAllQueuesDirty()
        logger.info("routing: learned \(fresh.count) open tickets of \(member)")
        return true
    }

    /// Every half second until cancelled: forgets what it knew of nodes that went down (to
    /// learn them again when they are back), learns nodes that are up, routes.
    func maintain() async {
        while !Task.isCancelled {
            let live = gateway.liveMembers()
            synced.formIntersection(live)
            for member in gateway.members where live.contains(member) && !synced.contains(member) {
                _ = await sync(member)
            }
            closed = closed.filter { ContinuousClock.now - $0.value.at < .seconds(60) }
            kick()
            // Cancelled: the routing owner is stopping, and the loop ends.
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    // MARK: Proposals

    private func kick() {
        guard !dispatching else { return }
        dispatching = true
        Task { await self.dispatch() }
    }

    /// Proposes and has the owners decide, round after round while proposals come (bounded).
    private func dispatch() async {
        defer { dispatching = false }
        await refreshWorkflow()
        for _ in 0..<20 {
            guard gateway.liveMembers().isSubset(of: synced) else { return }
            let proposals = table.propose { !self.synced.contains(self.gateway.owner(ofTicket: $0)) }
            if proposals.isEmpty { return }
            for start in stride(from: 0, to: proposals.count, by: Self.inFlight) {
                let slice = proposals[start..<min(start + Self.inFlight, proposals.count)]
                let outcomes = await withTaskGroup(of: (RoutingTable.Proposal, Result<RoutingFact?, any Error>).self) { group in
                    for proposal in slice {
                        group.addTask { [gateway] in
                            let owner = gateway.owner(ofTicket: proposal.ticket)
                            do {
                                // Through the owner's node service, a direct call when it is this
                                // node: the router may stand in for another node's partition, so
                                // its own node is not always the ticket's.
                                return (proposal, .success(try await gateway.assign(proposal, at: owner)))
                            } catch { return (proposal, .failure(error)) }
                        }
                    }
                    var all: [(RoutingTable.Proposal, Result<RoutingFact?, any Error>)] = []
                    for await outcome in group { all.append(outcome) }
                    return all
                }
                for (proposal, outcome) in outcomes {
                    switch outcome {
                    case .success(let fact?):
                        if fact.assignee == proposal.agent { self.outcomes.decided += 1 } else { self.outcomes.declined += 1 }
                        apply(fact)
                    case .success(nil):
                        self.outcomes.declined += 1
                        forget(proposal.ticket)
                    case .failure(let error):
                        self.outcomes.failed += 1
                        // Its owner did not decide: learn that node again before proposing its tickets.
                        let owner = gateway.owner(ofTicket: proposal.ticket)
                        logger.warning("routing: \(owner) did not decide ticket \(proposal.ticket) → \(proposal.agent): \(error)")
                        synced.remove(owner)
                    }
                    table.resolve(proposal.ticket)
                }
            }
        }
    }

    /// Follows a workflow put over the API (every node runs the same one).
    private func refreshWorkflow() async {
        let (workflow, generation) = await node.workflowAndGeneration
        guard generation != workflowGeneration else { return }
        workflowGeneration = generation
        table.replaceWorkflow(workflow)
    }

    /// Prometheus lines for routing, appended to the routing owner's `/metrics`.
    func metricsText() -> String {
        let waiting = table.waiting.values.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } }
        return [
            "# HELP ticketflow_routing_open_tickets Open tickets of the whole cluster known to the routing owner",
            "# TYPE ticketflow_routing_open_tickets gauge",
            "ticketflow_routing_open_tickets \(facts.count)",
            "# HELP ticketflow_routing_waiting_tickets Open tickets of the whole cluster waiting for an agent",
            "# TYPE ticketflow_routing_waiting_tickets gauge",
            "ticketflow_routing_waiting_tickets \(waiting)",
            "# HELP ticketflow_routing_members_learned Live members whose open tickets the routing owner holds",
            "# TYPE ticketflow_routing_members_learned gauge",
            "ticketflow_routing_members_learned \(synced.count)",
            "# HELP ticketflow_routing_proposals_total Assignments proposed to ticket owners, by outcome",
            "# TYPE ticketflow_routing_proposals_total counter",
            "ticketflow_routing_proposals_total{outcome=\"decided\"} \(outcomes.decided)",
            "ticketflow_routing_proposals_total{outcome=\"declined\"} \(outcomes.declined)",
            "ticketflow_routing_proposals_total{outcome=\"failed\"} \(outcomes.failed)",
        ].joined(separator: "\n") + "\n"
    }

    // MARK: AgentDesk

    func upsert(_ agent: Agent) async throws {
        await refreshWorkflow()
        if let rejection = table.check(agent) { throw NodeError.rejected(rejection) }
        try await node.storeAgent(agent)
        table.restore(agent: agent)
        kick()
    }

    func setPresence(_ agentID: String, _ presence: Presence) async throws -> Agent {
        guard var agent = table.agents[agentID] else { throw NodeError.agentNotFound(agentID) }
        agent.presence = presence
        try await node.storeAgent(agent)
        _ = table.setPresence(agentID, presence)
        kick()
        return table.agents[agentID] ?? agent
    }

    func agent(_ agentID: String) -> Agent? { table.agents[agentID] }
    func agents() -> [Agent] { table.agents.values.sorted { $0.id < $1.id } }
    func load(of agentID: String) -> Int { table.load(of: agentID) }

    /// The agent's open tickets, gathered from every live node, by ticket number.
    func openTickets(of agentID: String) async throws -> AgentTickets {
        guard table.agents[agentID] != nil else { throw NodeError.agentNotFound(agentID) }
        let (tickets, missing) = await gateway.openTicketViews(of: agentID)
        return AgentTickets(agent: agentID, tickets: tickets.sorted { TicketNumber.listsFirst($0.id, before: $1.id) }, unavailableNodes: missing)
    }
}
