import TicketflowAPI
import TicketflowCore
import TicketflowServer

/// The agent routes' desk on every member: the cluster's router when this node holds it —
/// as the routing owner, or standing in for the routing owner's partition — otherwise none
/// (the cluster middleware sends agent requests to the routing owner, so these answers are
/// not expected elsewhere).
struct RoutedAgents: AgentDesk {
    let gateway: ClusterGateway

    private func router() throws -> ClusterRouter {
        guard let router = gateway.router else {
            throw APIError(.misdirectedRequest, "misdirected", "agents are kept by node \(gateway.leader(of: gateway.routingOwner))")
        }
        return router
    }

    func upsert(_ agent: Agent) async throws { try await router().upsert(agent) }
    func setPresence(_ agentID: String, _ presence: Presence) async throws -> Agent { try await router().setPresence(agentID, presence) }
    func agent(_ agentID: String) async -> Agent? { await gateway.router?.agent(agentID) }
    func agents() async -> [Agent] { await gateway.router?.agents() ?? [] }
    func load(of agentID: String) async -> Int { await gateway.router?.load(of: agentID) ?? 0 }
    func openTickets(of agentID: String) async throws -> AgentTickets { try await router().openTickets(of: agentID) }
}
