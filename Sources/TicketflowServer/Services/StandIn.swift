import Foundation
import Hummingbird
import Logging
import Synchronization
import TicketflowCore
import TicketflowNode
import TicketflowRuntime
import TicketflowStorage

/// A partition this node serves while its home node is down (docs/replication.md): a node on
/// this node's replica of the partition's store, the same routes behind the same
/// authentication and policy (requests reach it from this node's gateway or a peer's, with
/// the identity found there), its timers and its outbox — until the home node takes it back.
public final class StandIn: Sendable {
    public let shard: String
    public let node: DurableNode
    public let responder: Router<NodeRequestContext>.Responder
    /// The node's logger with the partition in its metadata: the requests' context carries it.
    public let logger: Logger
    private let tasks: Mutex<[Task<Void, Never>]>

    init(shard: String, node: DurableNode, responder: Router<NodeRequestContext>.Responder, logger: Logger, tasks: [Task<Void, Never>]) {
        self.shard = shard; self.node = node; self.responder = responder; self.logger = logger; self.tasks = Mutex(tasks)
    }

    /// A task that lives as long as the stand-in (the cluster's routing, say).
    public func adopt(_ task: Task<Void, Never>) { tasks.withLock { $0.append(task) } }

    /// Stops its timers, outbox and adopted tasks; requests still in flight finish or fail on the node.
    public func stop() { for t in tasks.withLock({ $0 }) { t.cancel() } }
}

/// Makes stand-ins the way the node itself is made (`buildApplication` hands it to the cluster).
public struct StandInFactory: Sendable {
    let make: @Sendable (_ shard: String, _ store: Store, _ replicator: any BatchReplicator,
                         _ admits: @escaping @Sendable (TicketNumber) -> Bool,
                         _ agents: any AgentDesk, _ checkAgent: @escaping @Sendable (String) async throws -> Void) async throws -> StandIn

    public func make(shard: String, store: Store, replicator: any BatchReplicator, admits: @escaping @Sendable (TicketNumber) -> Bool,
                     agents: any AgentDesk, checkAgent: @escaping @Sendable (String) async throws -> Void) async throws -> StandIn {
        try await make(shard, store, replicator, admits, agents, checkAgent)
    }

    static func building(workflow: Workflow, source: String, origin: WorkflowOrigin, clock: any TicketflowRuntime.Clock,
                         access: AccessControl, maxBody: Int, allowedWebhookHosts: Set<String>, logger: Logger) -> StandInFactory {
        StandInFactory { shard, store, replicator, admits, agents, checkAgent in
            var logger = logger
            logger[metadataKey: "partition"] = "\(shard)"
            let node = try DurableNode(store: store, defaultWorkflow: (workflow, source, origin), clock: clock, logger: logger,
                                       admitsTicketNumber: admits, agentsAreRemote: true, allowedWebhookHosts: allowedWebhookHosts,
                                       replicator: replicator)
            let overdue = try await node.start()
            let active = await node.activeTickets
            logger.notice("standing in for \(shard): \(active) active tickets, \(overdue) overdue timers fired")
            let table = Routes(node: node, agents: agents, checkAgent: checkAgent, maxBody: maxBody).table
            let router = Router(context: NodeRequestContext.self)
            router.add(middleware: JSONErrorMiddleware(routes: table))
            router.add(middleware: AuthenticationMiddleware(access: access))
            router.add(middleware: AuthorizationMiddleware(routes: table))
            Routes(node: node, agents: agents, checkAgent: checkAgent, maxBody: maxBody, access: access).register(on: router)
            let delivery = OutboxDelivery(node: node, clock: clock, logger: logger)
            let tasks = [
                Task { await node.runTimers() },
                Task { do { try await delivery.run() } catch { logger.error("outbox of \(shard): \(error)") } },
            ]
            return StandIn(shard: shard, node: node, responder: router.buildResponder(), logger: logger, tasks: tasks)
        }
    }
}
