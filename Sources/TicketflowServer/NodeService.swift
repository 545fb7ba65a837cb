import Distributed
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOEmbedded
import Synchronization
import TicketflowCluster
import TicketflowStorage

/// The distributed actor each node runs under the well-known name `node`: peers call it to
/// run a request this node owns and to read its load. Referenced by `ClusterActorID`, so a
/// caller holds the same kind of reference whether the node is itself or across the network.
distributed actor NodeService {
    typealias ActorSystem = ClusterActorSystem
    static let name = "node"

    private let node: DurableCenter
    private let responder: ResponderSlot

    /// The router's responder, set once the router is built (the service exists before it),
    /// and a count of the requests run for peers — kept outside the actor so this node reads
    /// them without a call.
    final class ResponderSlot: Sendable {
        /// Boxed: a bare closure kept in a `Mutex` is re-wrapped in conversion thunks on every
        /// `inout` access, and the chain grows with each request.
        struct Responder: Sendable { let run: @Sendable (Request) async throws -> Response }
        let respond = Mutex<Responder?>(nil)
        /// This node's Prometheus text (node and cluster metrics), boxed for the same reason.
        struct Metrics: Sendable { let render: @Sendable () async -> String }
        let metrics = Mutex<Metrics?>(nil)
        let served = Atomic<Int>(0)
    }

    init(node: DurableCenter, responder: ResponderSlot, actorSystem: ClusterActorSystem) {
        self.node = node
        self.responder = responder
        self.actorSystem = actorSystem
    }

    /// Runs a request from a peer through this node's router; it is handled here, never
    /// forwarded again (`ClusterGateway.forwardedFrom`).
    distributed func handle(_ forwarded: ForwardedRequest, from peer: String) async throws -> ForwardedResponse {
        guard let respond = responder.respond.withLock({ $0 }) else { throw ClusterCallError("node is starting") }
        responder.served.add(1, ordering: .relaxed)
        var fields = HTTPFields()
        for h in forwarded.headers { if let name = HTTPField.Name(h.name) { fields[name] = h.value } }
        let head = HTTPRequest(method: HTTPRequest.Method(forwarded.method) ?? .get, scheme: nil, authority: nil,
                               path: forwarded.target, headerFields: fields)
        let request = Request(head: head, body: .init(buffer: ByteBuffer(bytes: forwarded.body)))
        let response: Response
        do { response = try await ClusterGateway.$forwardedFrom.withValue(peer) { try await respond.run(request) } } catch {
            response = APIError.from(error).response()
        }
        return try await ClusterGateway.encode(response)
    }

    /// This node's metrics in the Prometheus text format, as `/metrics` serves them.
    distributed func metrics() async -> String {
        guard let metrics = responder.metrics.withLock({ $0 }) else { return "" }
        return await metrics.render()
    }

    /// This node's load as JSON: tickets in memory, pending timers, agents, health.
    distributed func load() async -> [UInt8] {
        Array(JSONWriter.data(["active_tickets": await node.activeTickets, "pending_timers": await node.pendingTimers,
                               "agents": await node.agents().count, "healthy": await node.isHealthy]))
    }
}
