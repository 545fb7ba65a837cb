import TicketflowCore

/// A node's part in cluster-wide routing (see docs/cluster.md, "Routing"). Agents are kept by
/// one node, the routing owner, which assigns every node's tickets; each node tells it the
/// routing facts of its tickets and decides the assignments it proposes.
extension DurableCenter {
    /// Sends the routing facts of every committed change that can alter routing to `sink`.
    public func publishRoutingFacts(to sink: @escaping @Sendable ([RoutingFact]) -> Void) {
        routingFactSink = sink
    }

    /// The routing facts of this node's open tickets (all of them are in memory), in ticket
    /// number order after `after`: what the routing owner reads to learn a node afresh.
    public func openRoutingFacts(after: Int64, limit: Int) -> [RoutingFact] {
        let workflow = self.workflow
        return tickets(after: after)
            .filter { !$0.isSolved(in: workflow) }
            .sorted { ($0.number, $0.id) < ($1.number, $1.id) }
            .prefix(limit)
            .map { $0.routingFact(in: workflow) }
    }

    private func tickets(after: Int64) -> [Ticket] {
        inMemoryTickets.filter { $0.number > after }
    }

    /// Decides an assignment the routing owner proposes, if the ticket still waits (an agent
    /// may have taken it by hand meanwhile); returns the ticket's routing fact after it, or
    /// nil when the ticket is not open here.
    public func assignFromRouting(ticket id: String, agent: String, cause: Cause) async throws -> RoutingFact? {
        guard let current = inMemoryTicket(id), !current.isSolved(in: workflow) else { return nil }
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

extension Ticket {
    /// The ticket number (ids the server mints are numbers); 0 for other ids.
    var number: Int64 { Int64(id) ?? 0 }
}
