import TicketflowServer
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import TicketflowAPI

/// `GET /api/v1/cluster`: members, their liveness, the partition map and each node's load.
struct ClusterRoutes: Sendable {
    let gateway: ClusterGateway

    func register(on router: Router<NodeRequestContext>) {
        router.get("api/v1/cluster/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: await gateway.clusterMetrics())))
        }
        router.get("api/v1/cluster") { _, _ -> Response in
            let heard = gateway.lastHeard()
            let loads = await withTaskGroup(of: (String, NodeLoad?).self) { group in
                for member in gateway.config.nodes.map(\.name) {
                    group.addTask { (member, await gateway.status(of: member)) }
                }
                var all: [String: NodeLoad] = [:]
                for await (member, load) in group { if let load { all[member] = load } }
                return all
            }
            let members = gateway.config.nodes.map { n in
                MemberView(name: n.name, http: n.http, zmq: n.zmq, alive: gateway.isAlive(n.name, heard: heard),
                           lastHeardMsAgo: (heard[n.name] ?? nil).map { Int(Date().timeIntervalSince($0) * 1000) },
                           partitions: gateway.map.partitions(of: n.name).count, load: loads[n.name])
            }
            return JSONResponse.make(ClusterView(node: gateway.me, partitions: gateway.map.partitions, routingOwner: gateway.routingOwner,
                                                 members: members, partitionMap: gateway.map.owners,
                                                 forwardedRequests: gateway.forwardedRequests, servedForPeers: gateway.servedForPeers,
                                                 malformedFrames: gateway.malformedFrames, replication: gateway.replicationView()))
        }
    }
}

extension ClusterGateway {
    /// Prometheus lines for the cluster counters, appended to `/metrics`.
    func metricsText() -> String {
        let heard = lastHeard()
        let traffic = system.transport.traffic
        var lines = [
            "# HELP ticketflow_cluster_malformed_frames_total Frames from peers dropped because they did not parse",
            "# TYPE ticketflow_cluster_malformed_frames_total counter",
            "ticketflow_cluster_malformed_frames_total \(malformedFrames)",
            "# HELP ticketflow_cluster_refused_peers_total CurveZMQ handshakes refused because the peer's key is not in the cluster file",
            "# TYPE ticketflow_cluster_refused_peers_total counter",
            "ticketflow_cluster_refused_peers_total \(system.transport.refusedPeers)",
            "# HELP ticketflow_cluster_forwarded_total Requests forwarded to the owning node",
            "# TYPE ticketflow_cluster_forwarded_total counter",
            "ticketflow_cluster_forwarded_total \(forwardedRequests)",
            "# HELP ticketflow_cluster_served_for_peers_total Requests run here on behalf of another node",
            "# TYPE ticketflow_cluster_served_for_peers_total counter",
            "ticketflow_cluster_served_for_peers_total \(servedForPeers)",
            "# HELP ticketflow_cluster_messages_sent_total ZeroMQ messages sent to peers (heartbeats not counted)",
            "# TYPE ticketflow_cluster_messages_sent_total counter",
            "ticketflow_cluster_messages_sent_total \(traffic.messages)",
            "# HELP ticketflow_cluster_envelopes_sent_total Requests, replies and one-way messages sent to peers; several travel in one message under load",
            "# TYPE ticketflow_cluster_envelopes_sent_total counter",
            "ticketflow_cluster_envelopes_sent_total \(traffic.envelopes)",
            "# HELP ticketflow_cluster_member_alive 1 while a member answers heartbeats",
            "# TYPE ticketflow_cluster_member_alive gauge",
        ]
        for n in config.nodes { lines.append("ticketflow_cluster_member_alive{member=\"\(n.name)\"} \(isAlive(n.name, heard: heard) ? 1 : 0)") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Keeps the transport up while the node runs, sends this node's routing facts to the
/// routing owner, and on the routing owner keeps learning nodes and routing; closes the
/// transport on shutdown.
struct ClusterService: Service {
    let gateway: ClusterGateway
    let publisher: RoutingFactPublisher
    let router: ClusterRouter?
    let logger: Logger

    func run() async throws {
        let gateway = self.gateway
        let publishing = Task { await publisher.run(send: { try await gateway.sendRoutingFacts($0) }, logger: logger) }
        let routing = router.map { router in Task { await router.maintain() } }
        // It returns (or throws CancellationError) when the node stops: either way, stop the cluster side.
        try? await gracefulShutdown()
        publishing.cancel()
        publisher.finish()
        routing?.cancel()
        gateway.stop()
    }
}
