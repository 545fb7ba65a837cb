import TicketflowServer
import Distributed
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import TicketflowAPI
import TicketflowCluster
import TicketflowCore
import Logging
import TicketflowNode
import TicketflowStorage

/// The distributed actor each node runs under the well-known name `node`: peers call it to
/// run a request this node owns and to read its load. Referenced by `ClusterActorID`, so a
/// caller holds the same kind of reference whether the node is itself or across the network.
distributed actor NodeService {
    typealias ActorSystem = ClusterActorSystem
    static let name = "node"

    private let node: DurableNode
    private let responder: ResponderSlot

    /// The router's responder, set once the router is built (the service exists before it),
    /// and a count of the requests run for peers — kept outside the actor so this node reads
    /// them without a call.
    final class ResponderSlot: Sendable {
        /// Boxed: a bare closure kept in a `Mutex` is re-wrapped in conversion thunks on every
        /// `inout` access, and the chain grows with each request.
        struct Responder: Sendable { let run: @Sendable (Request, _ peer: String) async throws -> Response }
        let respond = Mutex<Responder?>(nil)
        /// This node's Prometheus text (node and cluster metrics), boxed for the same reason.
        struct Metrics: Sendable { let render: @Sendable () async -> String }
        let metrics = Mutex<Metrics?>(nil)
        let served = Atomic<Int>(0)
        /// The cluster's router, on the routing owner only.
        let router = Mutex<ClusterRouter?>(nil)
        /// The partitions this node stands in for, by partition (home node) name.
        let standIns = Mutex<[String: StandIn]>([:])
    }

    init(node: DurableNode, responder: ResponderSlot, actorSystem: ClusterActorSystem) {
        self.node = node
        self.responder = responder
        self.actorSystem = actorSystem
    }

    /// Runs a request from a peer through this node's router; it is handled here, never
    /// forwarded again (`ClusterGateway.forwardedFrom`).
    distributed func handle(_ forwarded: ForwardedRequest, from peer: String) async throws -> ForwardedResponse {
        guard let respond = responder.respond.withLock({ $0 }) else { throw ClusterCallError("node is starting") }
        if peer != id.node { responder.served.add(1, ordering: .relaxed) }
        let request = forwarded.request
        let response: Response
        do {
            response = try await ClusterGateway.$forwardedFrom.withValue(peer) {
                guard let shard = forwarded.shard, shard != id.node else { return try await respond.run(request, peer) }
                // For a partition this node stands in for.
                guard let standIn = responder.standIns.withLock({ $0[shard] }) else {
                    throw ClusterGateway.unavailable(shard, why: "partition \(shard)", reason: "\(id.node) does not lead it (any more)")
                }
                return try await standIn.responder.respond(to: request, context: NodeRequestContext(forwardedBy: peer, logger: standIn.logger))
            }
        } catch {
            response = APIError.from(error).response()
        }
        return try await ClusterGateway.encode(response)
    }

    /// This node's metrics in the Prometheus text format, as `/metrics` serves them.
    distributed func metrics() async -> String {
        guard let metrics = responder.metrics.withLock({ $0 }) else { return "" }
        return await metrics.render()
    }

    /// This node's load as JSON: tickets in memory, pending timers, agents (kept by the
    /// routing owner only), health.
    distributed func load() async -> [UInt8] {
        let agents = await responder.router.withLock({ $0 })?.agents().count ?? 0
        return JSONOutput.bytes(NodeLoad(activeTickets: await node.activeTickets, pendingTimers: await node.pendingTimers,
                                         agents: agents, healthy: await node.isHealthy))
    }

    // MARK: Routing (see ClusterRouter)

    /// Routing facts of a node's committed changes, for the routing owner.
    distributed func routingFacts(_ batch: RoutingFacts) async throws {
        guard let router = responder.router.withLock({ $0 }) else { throw ClusterCallError("\(id.node) is not the routing owner") }
        await router.receive(batch.facts)
    }

    /// A page of this node's open tickets' routing facts, after a ticket number.
    distributed func openRoutingFacts(after: Int, limit: Int, shard: String) async throws -> RoutingFacts {
        let page = try await node(for: shard).openRoutingFacts(after: Int64(after), limit: min(max(limit, 1), RoutingFacts.pageLimit))
        return RoutingFacts(page.facts, next: page.next)
    }

    /// Decides an assignment the routing owner proposes; the ticket's fact after it (none if
    /// the ticket is not open here).
    distributed func assign(_ proposal: RoutingProposal, shard: String) async throws -> RoutingFacts {
        let node = try self.node(for: shard)
        let fact = try await node.assignFromRouting(ticket: proposal.ticket, agent: proposal.agent, cause: proposal.cause)
        return RoutingFacts(fact.map { [$0] } ?? [])
    }

    /// The node holding a partition here: this node's own, or a stand-in's.
    private func node(for shard: String) throws -> DurableNode {
        if shard == id.node { return node }
        guard let standIn = responder.standIns.withLock({ $0[shard] }) else { throw ClusterCallError("\(id.node) does not lead partition \(shard)") }
        return standIn.node
    }

    /// Whether the routing owner keeps an agent with this id.
    distributed func agentExists(_ agentID: String) async throws -> Bool {
        guard let router = responder.router.withLock({ $0 }) else { throw ClusterCallError("\(id.node) is not the routing owner") }
        return await router.agent(agentID) != nil
    }

    /// This node's open tickets assigned to an agent, as a JSON array of ticket views.
    distributed func openTicketViews(of agentID: String) async throws -> [UInt8] {
        let workflow = await node.workflow
        return JSONOutput.bytes(try await node.openTickets(of: agentID).map { TicketView($0, workflow: workflow, withComments: false) })
    }
}
