import TicketflowAPI
import TicketflowCore
import TicketflowNode
import TicketflowStorage

/// Where the agent routes of the HTTP API find agents: the node itself when it runs alone,
/// the cluster's routing owner (`ClusterRouter`) in a cluster.
public protocol AgentDesk: Sendable {
    /// Registers or updates an agent; a refusal throws `NodeError.rejected` and changes nothing.
    func upsert(_ agent: Agent) async throws
    func setPresence(_ agentID: String, _ presence: Presence) async throws -> Agent
    func agent(_ agentID: String) async -> Agent?
    func agents() async -> [Agent]
    /// Open tickets assigned to the agent, pending proposals included.
    func load(of agentID: String) async -> Int
    /// `GET /agents/{id}/tickets`: the agent's open tickets (and, in a cluster, the nodes
    /// that did not answer).
    func openTickets(of agentID: String) async throws -> AgentTickets
}

/// A node running alone keeps its agents itself.
public struct LocalAgents: AgentDesk {
    let node: DurableNode
    public init(node: DurableNode) { self.node = node }

    public func upsert(_ agent: Agent) async throws { try await node.upsert(agent) }
    public func setPresence(_ agentID: String, _ presence: Presence) async throws -> Agent { try await node.setPresence(agentID, presence) }
    public func agent(_ agentID: String) async -> Agent? { await node.agent(agentID) }
    public func agents() async -> [Agent] { await node.agents() }
    public func load(of agentID: String) async -> Int { await node.load(of: agentID) }

    public func openTickets(of agentID: String) async throws -> AgentTickets {
        let workflow = await node.workflow
        return AgentTickets(agent: agentID, tickets: try await node.openTickets(of: agentID).map { TicketView($0, workflow: workflow, withComments: false) })
    }
}
