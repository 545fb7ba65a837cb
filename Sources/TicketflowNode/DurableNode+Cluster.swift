import TicketflowCore

/// A node's part in cluster-wide routing (see docs/cluster.md, "Routing"). Agents are kept by
/// one node, the routing owner, which assigns every node's tickets; each node tells it the
/// routing facts of its tickets and decides the assignments it proposes.
extension DurableNode {
    /// The routing facts of this node's open tickets, in ticket number order after `after`,
    /// and the number to ask after for the next page (nil on the last one): what the routing
    /// owner reads to learn a node afresh. Stored tickets come from their routing columns; one
    /// in memory is taken from there (it may be ahead of its snapshot); one created after the
    /// last commit arrives with that commit's facts.
    public func openRoutingFacts(after: Int64, limit: Int) throws -> (facts: [RoutingFact], next: Int64?) {
        let workflow = self.workflow
        let page = try storedOpenRoutingFacts(after: after, limit: limit)
        let facts = page.compactMap { stored -> RoutingFact? in
            guard let current = inMemoryTicket(stored.fact.ticket) else { return stored.fact }
            return current.isSolved(in: workflow) ? nil : current.routingFact(in: workflow)
        }
        return (facts, page.count == limit ? page.last?.number : nil)
    }

    /// Decides an assignment the routing owner proposes, if the ticket still waits (an agent
    /// may have taken it by hand meanwhile); returns the ticket's routing fact after it, or
    /// nil when the ticket is not open here.
    public func assignFromRouting(ticket id: String, agent: String, cause: Cause) async throws -> RoutingFact? {
        guard let current = try ticket(id), !current.isSolved(in: workflow) else { return nil }
        guard current.assignee == nil else { return current.routingFact(in: workflow) }
        let after = try await execute(.assign(ticket: id, agent: agent, by: cause))
        return after.routingFact(in: workflow)
    }

    /// Agents stored on this node: the cluster's agents when this node is the routing owner.
    public func storedAgents() -> [Agent] { keptAgents.values.sorted { $0.id < $1.id } }

    /// Stores an agent for the routing owner; returns once it is committed.
    public func storeAgent(_ agent: Agent) async throws {
        keptAgents[agent.id] = agent
        try await commitAgent(agent)
    }
}
