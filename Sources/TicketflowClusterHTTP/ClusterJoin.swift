import TicketflowCore
import Hummingbird
import Logging
import Synchronization
import TicketflowCluster
import TicketflowNode
import TicketflowReplication
import TicketflowServer

/// Makes a node a member of a cluster: `ServerConfiguration.cluster` for `ticketflow serve
/// --cluster FILE --node NAME`. Joining binds the ZeroMQ endpoint, makes the routing owner
/// keep the agents, and gives the HTTP layer the middleware that sends each request to the
/// node that owns it. With a replication factor above 1, `prepare` first connects to the
/// peers and etcd and takes this node's partition back before the node opens its store.
public struct ClusterJoin: ClusterMembership {
    public let config: ClusterConfig
    public let me: String
    private let prepared = Prepared()

    /// What `prepare` made, for `join`.
    final class Prepared: Sendable {
        struct Parts: Sendable { var system: ClusterActorSystem; var membership: EtcdMembership; var host: ReplicaHost }
        let parts = Mutex<Parts?>(nil)
    }

    public init(config: ClusterConfig, me: String) {
        self.config = config
        self.me = me
    }

    public var admitsTicketNumber: @Sendable (TicketNumber) -> Bool { Self.admits(config: config, shard: me) }

    /// Ticket numbers minted for a partition fall in its home node's partitions: unique cluster-wide.
    static func admits(config: ClusterConfig, shard: String) -> @Sendable (TicketNumber) -> Bool {
        let map = config.partitionMap
        return { number in map.owner(of: map.partition(forKey: number.id)) == shard }
    }

    public func prepare(dataDirectory: String, logger: Logger) async throws -> (any BatchReplicator)? {
        guard config.isReplicated, let endpoints = config.etcd else { return nil }
        let membership = EtcdMembership(config: config, me: me, endpoints: endpoints, logger: logger)
        let system = try ClusterGateway.bind(config: config, me: me, logger: logger)
        let host = try ReplicaHost(config: config, me: me, dataDirectory: dataDirectory, membership: membership, logger: logger)
        let service = system.withName(ReplicaService.name) { ReplicaService(host: host, actorSystem: system) }
        var services: [String: ReplicaService] = [:]
        for member in config.nodes.map(\.name) {
            services[member] = member == me ? service : try ReplicaService.resolve(id: ClusterActorID(node: member, name: ReplicaService.name), using: system)
        }
        let me = self.me, peers = services
        host.handoverRequester.withLock {
            $0 = { peer in
                guard let service = peers[peer] else { throw ClusterCallError("no member \(peer)") }
                _ = try await service.handOver(me, to: me)
            }
        }
        let links = ClusterReplicaLinks(me: me, services: services)
        host.attachLinks(links)
        try await host.seedIfNew(through: links)
        prepared.parts.withLock { $0 = .init(system: system, membership: membership, host: host) }
        try await host.load()
        host.startWatching()
        guard let home = host.home else {
            // No partition to take back: this node holds replicas only (added after the cluster
            // began), or its partition was placed on other nodes — then its old store must
            // neither serve nor fire timers.
            logger.info(config.isShard(me) ? "partition \(me): placed on other nodes; this node holds replicas only" : "no partition is this node's home; it holds replicas")
            return config.isShard(me) ? PlacedElsewhere(shard: me) : nil
        }
        logger.info("partition \(me): replicated on \(home.members.joined(separator: ", ")); taking it back")
        try await host.takeHomePartition()
        return home
    }

    public func join(node: DurableNode, routes: RouteTable, maxBody: Int, metrics: @escaping @Sendable () async -> String,
                     standIns: StandInFactory, logger: Logger) async throws -> ClusterParts {
        let parts = prepared.parts.withLock { $0 }
        let membership = parts?.membership ?? config.etcd.map { EtcdMembership(config: config, me: me, endpoints: $0, logger: logger) }
        let gateway = try ClusterGateway(config: config, me: me, node: node, logger: logger, metrics: metrics, etcd: membership,
                                         system: parts?.system, replicas: parts?.host)
        let publisher = RoutingFactPublisher()
        await node.publishRoutingFacts { publisher.offer($0) }
        var router: ClusterRouter?
        if gateway.routingOwner == gateway.me {
            let owner = await ClusterRouter(gateway: gateway, node: node, logger: logger)
            gateway.attach(router: owner)
            router = owner
        }
        let owner = router
        let agents: any AgentDesk = RoutedAgents(gateway: gateway)
        let checkAgent: @Sendable (String) async throws -> Void = { agentID in try await gateway.checkAgent(agentID) }
        if let host = parts?.host {
            let config = self.config
            await host.attach(standIns: .init(
                start: { log in
                    let standIn = try await standIns.make(shard: log.shard, store: log.store, replicator: log,
                                                          admits: Self.admits(config: config, shard: log.shard),
                                                          agents: agents, checkAgent: checkAgent)
                    await standIn.node.publishRoutingFacts { publisher.offer($0) }
                    gateway.standIn(standIn)
                    if log.shard == gateway.routingOwner {
                        // Standing in for the routing owner: agents are kept in its partition's
                        // store, so this node routes the cluster from its replica of them.
                        let router = await ClusterRouter(gateway: gateway, node: standIn.node, logger: logger)
                        gateway.attach(router: router)
                        standIn.adopt(Task { await router.maintain() })
                        let kept = await router.agents().count
                        logger.notice("routing the cluster for \(log.shard) with \(kept) agents")
                    }
                },
                stop: { shard in
                    if shard == gateway.routingOwner { gateway.attach(router: nil) }
                    gateway.standIn(removing: shard)?.stop()
                }))
        }
        logger.info("cluster member \(gateway.me): owns \(gateway.map.partitions(of: gateway.me).count) of \(gateway.map.partitions) partitions; agents and routing: \(gateway.routingOwner)")
        return ClusterParts(
            agents: agents,
            checkAgent: checkAgent,
            middleware: { $0.add(middleware: ClusterMiddleware(gateway: gateway, maxBody: maxBody, routes: routes)) },
            routes: { ClusterRoutes(gateway: gateway).register(on: $0) },
            metricsText: { gateway.metricsText() + (await gateway.router?.metricsText() ?? "") },
            attach: { gateway.attach($0) },
            readiness: { gateway.readiness() },
            services: [ClusterService(gateway: gateway, publisher: publisher, router: owner, logger: logger)]
                + (membership.map { [$0] } ?? []) + (parts.map { [$0.host] } ?? []))
    }
}
