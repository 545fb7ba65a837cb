import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import TicketflowAPI
import TicketflowCore
import TicketflowNode
import TicketflowRuntime
import TicketflowStorage
import TicketflowWorkflow

/// How to run a node.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./data"
    public var workflowPath = "workflows/b2c-support.yaml"
    public var durability = Durability.full
    /// Largest request body accepted, in bytes (the largest valid request fits: `RequestLimits`).
    public var maxBodyBytes = RequestLimits.bodyBytes
    /// Joins a cluster (`TicketflowClusterHTTP.ClusterJoin`); nil: the node runs alone.
    public var cluster: (any ClusterMembership)?
    /// Where time comes from: the system clock; tests may hand in a `VirtualClock`.
    public var clock: any TicketflowRuntime.Clock = SystemClock()
    /// The first admin's API token on a fresh data directory (`TICKETFLOW_ADMIN_TOKEN`); nil:
    /// a random one is generated and printed once to the terminal.
    public var adminToken: String?
    /// The first admin's password for browser sign-in (`TICKETFLOW_ADMIN_PASSWORD`), set on a
    /// fresh data directory only; nil: none (an admin can set one later).
    public var adminPassword: String?
    /// Whether `/metrics` answers without a token (for a scraper on a trusted network).
    public var metricsOpen = false
    /// The node sits behind a TLS-terminating proxy: session cookies are marked `Secure`.
    public var behindTLS = false
    /// API calls per account and second, bursts of twice as many (429 with `Retry-After`
    /// beyond); nil: unlimited.
    public var apiRateLimit: Double? = 1_000
    /// Timeouts and the per-address cap on HTTP connections.
    public var connections = ConnectionLimits()
    /// Webhook hosts inside the network (loopback, private …) that workflows may deliver to;
    /// every other such host is refused when a workflow is checked and again at delivery.
    public var allowedWebhookHosts: Set<String> = []
    public init() {}
}

/// Why a node could not start.
public struct StartupError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// What a node needs from a cluster it is a member of. The HTTP layer of a node running alone
/// knows nothing of ZeroMQ: the cluster side (`TicketflowClusterHTTP`) implements this.
public protocol ClusterMembership: Sendable {
    /// Ticket numbers this node may mint (those of its own partitions: unique cluster-wide).
    var admitsTicketNumber: @Sendable (TicketNumber) -> Bool { get }
    /// Before the node opens its store: in a replicated cluster, takes this node's partition
    /// back (from the node standing in for it, or by election) and returns what its batches
    /// are replicated through; nil when partitions are not replicated.
    func prepare(dataDirectory: String, logger: Logger) async throws -> (any BatchReplicator)?
    /// Joins once the node is open; returns what the HTTP layer adds for the cluster.
    /// `standIns` makes the node's stand-ins for dead peers' partitions.
    func join(node: DurableNode, routes: RouteTable, maxBody: Int, metrics: @escaping @Sendable () async -> String,
              standIns: StandInFactory, logger: Logger) async throws -> ClusterParts
}

/// What a cluster adds to a node's HTTP layer.
public struct ClusterParts: Sendable {
    /// Where agents live (the routing owner).
    public var agents: any AgentDesk
    /// Checks with the routing owner that an agent exists before a ticket is assigned to it.
    public var checkAgent: @Sendable (String) async throws -> Void
    /// Sends each request to the node that owns what it is about.
    public var middleware: @Sendable (Router<NodeRequestContext>) -> Void
    /// The cluster's own routes (`/api/v1/cluster`, …).
    public var routes: @Sendable (Router<NodeRequestContext>) -> Void
    /// Lines added to `/metrics`.
    public var metricsText: @Sendable () async -> String
    /// Receives the router's responder once built (requests forwarded by peers run through it).
    public var attach: @Sendable (Router<NodeRequestContext>.Responder) -> Void
    /// What `/readyz` answers: ready once every peer that is up has been heard.
    public var readiness: @Sendable () -> Readiness
    public var services: [any Service]

    public init(agents: any AgentDesk, checkAgent: @escaping @Sendable (String) async throws -> Void,
                middleware: @escaping @Sendable (Router<NodeRequestContext>) -> Void,
                routes: @escaping @Sendable (Router<NodeRequestContext>) -> Void, metricsText: @escaping @Sendable () async -> String,
                attach: @escaping @Sendable (Router<NodeRequestContext>.Responder) -> Void,
                readiness: @escaping @Sendable () -> Readiness, services: [any Service]) {
        self.agents = agents; self.checkAgent = checkAgent; self.middleware = middleware; self.routes = routes
        self.metricsText = metricsText; self.attach = attach; self.readiness = readiness; self.services = services
    }
}

/// Builds the node exactly as production runs it — the in-process HTTP tests use this very
/// function. Opens the data directory, recovers, fires overdue timers, and returns the
/// application (HTTP server, timer loop and outbox delivery as services) and the node.
public func buildApplication(_ config: ServerConfiguration, logger: Logger) async throws -> (some ApplicationProtocol, DurableNode) {
    let outcome = WorkflowLoader.load(path: config.workflowPath, allowedWebhookHosts: config.allowedWebhookHosts)
    guard let workflow = outcome.workflow else {
        throw StartupError(description: "workflow \(config.workflowPath) has errors:\n" + outcome.diagnostics.map(\.description).joined(separator: "\n"))
    }
    // Kept as the record of what was activated; only workflows put over the API are reloaded from it.
    let source = try String(contentsOfFile: config.workflowPath, encoding: .utf8)
    try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
    let lock = try DataDirectoryLock(directory: config.dataDirectory)
    let started = ContinuousClock.now
    let replicator = try await config.cluster?.prepare(dataDirectory: config.dataDirectory, logger: logger)
    let store = try Store(path: config.dataDirectory + "/ticketflow.sqlite", durability: config.durability)
    let metrics = NodeMetrics()
    let clock = config.clock
    // In a cluster the routing owner keeps the agents and routes every node's tickets.
    let node = try DurableNode(store: store, defaultWorkflow: (workflow, source, .file(config.workflowPath)), clock: clock,
                               logger: logger, observer: metrics, admitsTicketNumber: config.cluster?.admitsTicketNumber,
                               agentsAreRemote: config.cluster != nil, allowedWebhookHosts: config.allowedWebhookHosts,
                               replicator: replicator)
    let access = AccessControl(store: store, clock: clock, rateLimit: config.apiRateLimit)
    if config.adminToken == nil, try store.accountCount() == 0, isatty(STDOUT_FILENO) == 0 {
        throw StartupError(description: """
            this is a fresh data directory and standard output is not a terminal, so the first admin's \
            token cannot be shown (it is never written to a log): set TICKETFLOW_ADMIN_TOKEN to the token you want
            """)
    }
    if let generated = try access.bootstrap(adminToken: config.adminToken, adminPassword: config.adminPassword) {
        // To the terminal only, once: never to a log file.
        FileHandle.standardOutput.write(Data("""
            first start: created the admin account. Its API token (shown once, keep it):
              \(generated)
            use it as:  curl -H 'Authorization: Bearer \(generated)' http://\(config.host):\(config.port)/api/v1/tickets

            """.utf8))
    }
    let overdue = try await node.start()
    let elapsed = ContinuousClock.now - started
    let label = await node.workflow.label, active = await node.activeTickets
    logger.info("node ready in \(elapsed): workflow \(label), \(active) active tickets, \(overdue) overdue timers fired")

    // The table needs the routes' shapes only; the agent desk is settled after joining.
    let table = Routes(node: node, agents: LocalAgents(node: node), checkAgent: nil, maxBody: config.maxBodyBytes).table
    let standIns = StandInFactory.building(workflow: workflow, source: source, origin: .file(config.workflowPath), clock: clock,
                                           access: access, maxBody: config.maxBodyBytes,
                                           allowedWebhookHosts: config.allowedWebhookHosts, logger: logger)
    let cluster = try await config.cluster?.join(node: node, routes: table, maxBody: config.maxBodyBytes,
                                                 metrics: { await metrics.render(node: node) }, standIns: standIns, logger: logger)
    let api = Routes(node: node, agents: cluster?.agents ?? LocalAgents(node: node), checkAgent: cluster?.checkAgent,
                     maxBody: config.maxBodyBytes, access: access)

    let router = Router(context: NodeRequestContext.self)
    router.add(middleware: JSONErrorMiddleware(routes: table))
    #if TICKETFLOW_BENCH_WITHOUT_ACCESS_POLICY
    // Only in the build `make bench` makes to measure what authentication and the policy
    // cost (bench/run.sh, a separate build path): no identity, no policy. Never shipped.
    logger.warning("built without authentication and authorization: for benchmarks only")
    #else
    router.add(middleware: AuthenticationMiddleware(access: access))
    router.add(middleware: AuthorizationMiddleware(routes: table, metricsOpen: config.metricsOpen))
    #endif
    if let cluster {
        cluster.middleware(router)
        cluster.routes(router)
    } else {
        for path in ["api/v1/cluster", "api/v1/cluster/metrics"] {
            router.get(RouterPath(path)) { _, _ -> Response in
                APIError(.notFound, "not_clustered", "this node runs alone; start it with --cluster FILE --node NAME").response()
            }
        }
    }
    api.register(on: router)
    UserRoutes(access: access, node: node, maxBody: config.maxBodyBytes, clustered: config.cluster != nil).register(on: router)
    router.get("healthz") { _, _ -> Response in
        let healthy = await node.isHealthy
        return JSONResponse.make(Health(status: healthy ? .ok : .failed, workflow: await node.workflow.label),
                                 status: healthy ? .ok : .serviceUnavailable)
    }
    router.get("readyz") { _, _ -> Response in
        guard await node.isHealthy else { return JSONResponse.make(Readiness(status: .notReady), status: .serviceUnavailable) }
        let readiness = cluster?.readiness() ?? Readiness(status: .ready)
        return JSONResponse.make(readiness, status: readiness.status == .ready ? .ok : .serviceUnavailable)
    }
    router.get("metrics") { _, _ -> Response in
        var text = await metrics.render(node: node)
        if let cluster { text += await cluster.metricsText() }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    BrowserRoutes(signIn: SignInRoutes(access: access, secureCookies: config.behindTLS), portal: PortalRoutes(api: api)).register(on: router)
    let host = config.host
    let limits = config.connections
    let counter = ConnectionCounter(limit: limits.perAddress)
    let responder = router.buildResponder()
    cluster?.attach(responder)
    var app = Application(
        responder: responder,
        server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(limits: limits, counter: counter)])),
        configuration: .init(address: .hostname(host, port: config.port), serverName: "ticketflow"),
        onServerRunning: { channel in
            // Printed on stdout so scripts and tests can find the port when started with --port 0.
            FileHandle.standardOutput.write(Data("ticketflow listening on http://\(host):\(channel.localAddress?.port ?? 0)\n".utf8))
        },
        logger: logger
    )
    app.addServices(lock, TimerService(node: node), OutboxDelivery(node: node, clock: clock, logger: logger))
    for service in cluster?.services ?? [] { app.addServices(service) }
    return (app, node)
}
