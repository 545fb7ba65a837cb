import TicketflowCore
import Hummingbird
import Logging
import TicketflowCluster
import TicketflowNode
import TicketflowServer

/// Makes a node a member of a cluster: `ServerConfiguration.cluster` for `ticketflow serve
/// --cluster FILE --node NAME`. Joining binds the ZeroMQ endpoint, makes the routing owner
/// keep the agents, and gives the HTTP layer the middleware that sends each request to the
/// node that owns it.
public struct ClusterJoin: ClusterMembership {
    public let config: ClusterConfig
    public let me: String

    public init(config: ClusterConfig, me: String) {
        self.config = config
        self.me = me
    }

    public var admitsTicketNumber: @Sendable (TicketNumber) -> Bool {
        // Ticket numbers this node mints fall in its own partitions: unique cluster-wide.
        let map = config.partitionMap, me = self.me
        return { number in map.owner(of: map.partition(forKey: number.id)) == me }
    }

    public func join(node: DurableNode, routes: RouteTable, maxBody: Int, metrics: @escaping @Sendable () async -> String,
                     logger: Logger) async throws -> ClusterParts {
        let membership = config.etcd.map { EtcdMembership(config: config, me: me, endpoints: $0, logger: logger) }
        let gateway = try ClusterGateway(config: config, me: me, node: node, logger: logger, metrics: metrics, etcd: membership)
        let publisher = RoutingFactPublisher()
        await node.publishRoutingFacts { publisher.offer($0) }
        var router: ClusterRouter?
        if gateway.routingOwner == gateway.me {
            let owner = await ClusterRouter(gateway: gateway, node: node, logger: logger)
            gateway.attach(router: owner)
            router = owner
        }
        let owner = router
        logger.info("cluster member \(gateway.me): owns \(gateway.map.partitions(of: gateway.me).count) of \(gateway.map.partitions) partitions; agents and routing: \(gateway.routingOwner)")
        return ClusterParts(
            agents: owner ?? AgentsElsewhere(owner: gateway.routingOwner),
            checkAgent: { agentID in try await gateway.checkAgent(agentID) },
            middleware: { $0.add(middleware: ClusterMiddleware(gateway: gateway, maxBody: maxBody, routes: routes)) },
            routes: { ClusterRoutes(gateway: gateway).register(on: $0) },
            metricsText: { gateway.metricsText() + (await owner?.metricsText() ?? "") },
            attach: { gateway.attach($0) },
            readiness: { gateway.readiness() },
            services: [ClusterService(gateway: gateway, publisher: publisher, router: owner, logger: logger)] + (membership.map { [$0] } ?? []))
    }
}
