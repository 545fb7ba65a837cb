import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import TicketflowAPI
import TicketflowCluster
import TicketflowCore
import TicketflowRuntime
import TicketflowNode
import TicketflowStorage
import TicketflowWorkflow

/// How to run a node.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./data"
    public var workflowPath = "workflows/b2c-support.yaml"
    public var durability = Durability.full
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes = 1 << 20
    /// In a cluster: the cluster file and this node's name in it. The node's HTTP address and
    /// data directory then come from the cluster file.
    public var cluster: (config: ClusterConfig, node: String)?
    public init() {}
}

/// Why a node could not start.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
}

/// Builds the node exactly as production runs it — tests use the very same function.
/// Opens the data directory, recovers, fires overdue timers, and returns the application
/// (HTTP server, timer loop and outbox delivery as services) and the node.
public func buildApplication(_ config: ServerConfiguration, logger: Logger) async throws -> (some ApplicationProtocol, DurableNode) {
    let outcome = WorkflowLoader.load(path: config.workflowPath)
    guard let workflow = outcome.workflow else {
        throw StartupError(description: "workflow \(config.workflowPath) has errors:\n" + outcome.diagnostics.map(\.description).joined(separator: "\n"))
    }
    // Kept as the record of what was activated; only workflows put over the API are reloaded from it.
    let source = try String(contentsOfFile: config.workflowPath, encoding: .utf8)
    try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
    let started = ContinuousClock.now
    var admits: (@Sendable (Int64) -> Bool)?
    if let cluster = config.cluster {
        // Ticket numbers this node mints fall in its own partitions: unique cluster-wide.
        let map = cluster.config.partitionMap, me = cluster.node
        admits = { number in map.owner(of: map.partition(forKey: String(number))) == me }
    }
    let store = try Store(path: config.dataDirectory + "/ticketflow.sqlite", durability: config.durability)
    let metrics = NodeMetrics()
    let clock = SystemClock()
    // In a cluster the routing owner keeps the agents and routes every node's tickets.
    let node = try DurableNode(store: store, defaultWorkflow: (workflow, source, .file(config.workflowPath)), clock: clock,
                                 logger: logger, observer: metrics, admitsTicketNumber: admits, agentsAreRemote: config.cluster != nil)
    let overdue = try await node.start()
    let elapsed = ContinuousClock.now - started
    let label = await node.workflow.label, active = await node.activeTickets
    logger.info("node ready in \(elapsed): workflow \(label), \(active) active tickets, \(overdue) overdue timers fired")

    let gateway = try config.cluster.map {
        try ClusterGateway(config: $0.config, me: $0.node, node: node, logger: logger) { await metrics.render(node: node) }
    }
    var agents: any AgentDesk = LocalAgents(node: node)
    var routing: (publisher: RoutingFactPublisher, router: ClusterRouter?)?
    if let gateway {
        let publisher = RoutingFactPublisher()
        await node.publishRoutingFacts { publisher.offer($0) }
        var router: ClusterRouter?
        if gateway.routingOwner == gateway.me {
            let owner = await ClusterRouter(gateway: gateway, node: node, logger: logger)
            gateway.attach(router: owner)
            router = owner
        }
        agents = router ?? AgentsElsewhere(owner: gateway.routingOwner)
        routing = (publisher, router)
        logger.info("cluster member \(gateway.me): owns \(gateway.map.partitions(of: gateway.me).count) of \(gateway.map.partitions) partitions; agents and routing: \(gateway.routingOwner)")
    }

    let clusterRouter = routing?.router
    var checkAgent: (@Sendable (String) async throws -> Void)?
    if let gateway { checkAgent = { agentID in try await gateway.checkAgent(agentID) } }
    let api = Routes(node: node, agents: agents, checkAgent: checkAgent, maxBody: config.maxBodyBytes)
    let table = api.table
    let router = Router()
    router.add(middleware: JSONErrorMiddleware(routes: table))
    if let gateway {
        router.add(middleware: ClusterMiddleware(gateway: gateway, maxBody: config.maxBodyBytes, routes: table))
        ClusterRoutes(gateway: gateway).register(on: router)
    } else {
        for path in ["api/v1/cluster", "api/v1/cluster/metrics"] {
            router.get(RouterPath(path)) { _, _ -> Response in
                APIError(.notFound, "not_clustered", "this node runs alone; start it with --cluster FILE --node NAME").response()
            }
        }
    }
    api.register(on: router)
    router.get("healthz") { _, _ -> Response in
        let healthy = await node.isHealthy
        return JSONResponse.make(Health(status: healthy ? .ok : .failed, workflow: await node.workflow.label),
                                 status: healthy ? .ok : .serviceUnavailable)
    }
    router.get("metrics") { _, _ -> Response in
        var text = await metrics.render(node: node)
        if let gateway { text += gateway.metricsText() }
        if let clusterRouter { text += await clusterRouter.metricsText() }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    router.get("/") { _, _ -> Response in
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: Dashboard.html)))
    }
    let host = config.host
    let responder = router.buildResponder()
    gateway?.attach(responder)
    var app = Application(
        responder: responder,
        configuration: .init(address: .hostname(host, port: config.port), serverName: "ticketflow"),
        onServerRunning: { channel in
            // Printed on stdout so scripts and tests can find the port when started with --port 0.
            FileHandle.standardOutput.write(Data("ticketflow listening on http://\(host):\(channel.localAddress?.port ?? 0)\n".utf8))
        },
        logger: logger
    )
    app.addServices(TimerService(node: node), OutboxDelivery(node: node, clock: clock, logger: logger))
    if let gateway, let routing {
        app.addServices(ClusterService(gateway: gateway, publisher: routing.publisher, router: routing.router, logger: logger))
    }
    return (app, node)
}
