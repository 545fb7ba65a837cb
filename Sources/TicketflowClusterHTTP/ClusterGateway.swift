import TicketflowServer
import Foundation
import TicketflowAPI
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import TicketflowCluster
import TicketflowNode
import TicketflowStorage

/// This node's place in a cluster: the actor system over ZeroMQ, the partition map, and the
/// rules that send each HTTP request to the node that owns what it is about.
///
/// A request about a ticket goes to the owner of the ticket's partition; about agents, to the
/// routing owner, which keeps every agent and routes every ticket (`ClusterRouter`); a list
/// gathers from every live node; a workflow change goes to all.
/// What this node owns is handled here, with no network and no serializer; the rest is a
/// call to the owner's `NodeService` (a distributed actor), which runs it through its router.
public final class ClusterGateway: Sendable {
    public let config: ClusterConfig
    public let me: String
    public let map: PartitionMap
    let system: ClusterActorSystem
    let service: NodeService
    /// Every member's `NodeService`, this node's included: location-transparent references.
    let services: [String: NodeService]
    let logger: Logger
    private let slot = NodeService.ResponderSlot()
    private let roundRobin = Atomic<Int>(0)
    private let forwarded = Atomic<Int>(0)
    /// A peer counts as alive while heard from (heartbeats included) within this span.
    static let livenessWindow: TimeInterval = 3
    /// How long a request waits for a peer never heard from since this node started (it may
    /// be starting too) before it is answered 503.
    static let firstContactWait: Duration = .seconds(2)
    /// When this node started: a peer silent for the liveness window since then is down.
    let startedAt = Date()

    /// Set while a request that came from a peer runs, so it is handled here, never forwarded again.
    @TaskLocal static var forwardedFrom: String?

    /// Binds this node's ZeroMQ endpoint and connects to every peer.
    /// With etcd in the cluster file: this node's membership lease there.
    let etcd: EtcdMembership?

    public convenience init(config: ClusterConfig, me: String, node: DurableNode, logger: Logger,
                            metrics: @escaping @Sendable () async -> String) throws {
        try self.init(config: config, me: me, node: node, logger: logger, metrics: metrics, etcd: nil)
    }

    /// In a replicated cluster: who leads each partition, and this node's replicas.
    let replicas: ReplicaHost?

    init(config: ClusterConfig, me: String, node: DurableNode, logger: Logger,
         metrics: @escaping @Sendable () async -> String, etcd: EtcdMembership?,
         system prepared: ClusterActorSystem? = nil, replicas: ReplicaHost? = nil) throws {
        self.etcd = etcd
        self.replicas = replicas
        self.config = config
        self.me = me
        self.map = config.partitionMap
        self.logger = logger
        system = try prepared ?? Self.bind(config: config, me: me, logger: logger)
        let slot = self.slot, system = self.system
        service = system.withName(NodeService.name) { NodeService(node: node, responder: slot, actorSystem: system) }
        var services: [String: NodeService] = [:]
        for member in config.nodes.map(\.name) {
            services[member] = try NodeService.resolve(id: ClusterActorID(node: member, name: NodeService.name), using: system)
        }
        self.services = services
        slot.metrics.withLock { [unowned self] in
            $0 = .init { await metrics() + self.metricsText() }
        }
    }

    /// Binds this node's ZeroMQ endpoint (CurveZMQ unless the file says `insecure: true`) and
    /// connects to every peer.
    static func bind(config: ClusterConfig, me: String, logger: Logger) throws -> ClusterActorSystem {
        guard let mine = config.node(me) else { throw StartupError(description: "node '\(me)' is not in the cluster file") }
        let peers = Dictionary(uniqueKeysWithValues: config.nodes.map { ($0.name, $0.zmq) })
        let security: LinkSecurity
        do { security = try config.linkSecurity(for: me) } catch { throw StartupError(description: "\(error)") }
        if case .plain = security {
            logger.warning("insecure: true: links to peers are plain text, and identities forwarded by anyone who reaches \(mine.zmq) are believed")
        }
        do {
            return try ClusterActorSystem(node: me, endpoint: mine.zmq, peers: peers, membership: config.fingerprint, security: security, logger: logger)
        } catch {
            throw StartupError(description: "cannot bind \(mine.zmq): \(error)")
        }
    }

    /// `GET /api/v1/cluster`'s replication part (empty without replication).
    func replicationView() -> [ReplicaGroupView] { replicas?.view() ?? [] }

    /// Where a partition's requests run: the node leading it (its home node unless another
    /// stands in for it).
    func leader(of shard: String) -> String { replicas?.leader(of: shard) ?? shard }

    /// Every live member's metrics in one Prometheus text, each sample labelled with its
    /// node; members that did not answer are listed and reported as `up 0`.
    func clusterMetrics() async -> String {
        let texts = await withTaskGroup(of: (String, String?).self) { group in
            for member in config.nodes.map(\.name) {
                group.addTask { [services] in
                    guard self.isAlive(member), let service = services[member] else { return (member, nil) }
                    // A member that does not answer is shown as such: ticketflow_cluster_up{node} 0.
                    return (member, try? await service.metrics())
                }
            }
            var all: [String: String?] = [:]
            for await (member, text) in group { all[member] = text }
            return all
        }
        return PrometheusMerge.merge(config.nodes.map { ($0.name, texts[$0.name] ?? nil) })
    }

    /// Hands requests from peers to the router; call once the router's responder is built.
    func attach<R: HTTPResponder>(_ responder: R) where R.Context == NodeRequestContext {
        let logger = self.logger
        slot.respond.withLock { slot in
            slot = .init { request, peer in
                try await responder.respond(to: request, context: NodeRequestContext(forwardedBy: peer, logger: logger))
            }
        }
    }

    /// Serves a partition for its dead home node from now on (peers' requests included).
    func standIn(_ standIn: StandIn) { slot.standIns.withLock { $0[standIn.shard] = standIn } }

    /// Stops serving a partition for its home node; the stand-in, to be stopped.
    func standIn(removing shard: String) -> StandIn? { slot.standIns.withLock { $0.removeValue(forKey: shard) } }

    /// Makes this node the one that answers for agents and routes every ticket.
    func attach(router: ClusterRouter?) { slot.router.withLock { $0 = router } }

    /// The cluster's router, when this node holds it.
    var router: ClusterRouter? { slot.router.withLock { $0 } }

    public func stop() { system.stop() }

    /// Frames dropped because they did not parse.
    public var malformedFrames: Int { system.transport.malformedFrames }
    /// Requests this node sent to their owners.
    var forwardedRequests: Int { forwarded.load(ordering: .relaxed) }
    /// Requests this node ran on behalf of peers.
    var servedForPeers: Int { slot.served.load(ordering: .relaxed) }

    // MARK: Ownership and liveness

    /// The partition of a ticket id: a stable hash of the id, modulo the partition count.
    public func partition(ofTicket id: String) -> Int { map.partition(forKey: id) }

    /// When each member was last heard from; this node is always alive to itself.
    func lastHeard() -> [String: Date?] {
        var heard = system.transport.liveness
        heard[me] = Date()
        return heard
    }

    func isAlive(_ member: String, heard: [String: Date?]? = nil) -> Bool {
        if member == me { return true }
        guard let last = (heard ?? system.transport.liveness)[member] ?? nil else { return false }
        return Date().timeIntervalSince(last) <= Self.livenessWindow
    }

    /// Whether `member` answers, waiting up to `firstContactWait` for one never heard from, or
    /// (in a replicated cluster, which follows members' leases in etcd) started again since it
    /// was last heard; a peer that was alive and went silent is down at once: no wait.
    func awaitAlive(_ member: String) async -> Bool {
        if isAlive(member) { return true }
        if let heard = system.transport.liveness[member] ?? nil, replicas?.restarted(member, after: heard) != true { return false }
        let deadline = ContinuousClock.now + Self.firstContactWait
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))   // cancelled: the loop ends at the deadline anyway
            if isAlive(member) { return true }
        }
        return false
    }

    /// `/readyz`: ready once every peer is heard from, or has been silent since this node
    /// started for longer than the liveness window (down, so not awaited), and — with etcd in
    /// the cluster file — while this node's membership lease there is kept.
    func readiness() -> Readiness {
        let heard = system.transport.liveness
        let settled = Date().timeIntervalSince(startedAt) > Self.livenessWindow
        var waiting = config.nodes.map(\.name).filter { $0 != me && !isAlive($0, heard: heard) && (heard[$0] ?? nil) == nil && !settled }
        if let etcd, !etcd.isKept { waiting.insert("etcd", at: 0) }
        if let replicas {
            // Every partition's leader known (a request for it would otherwise wait or fail).
            let leaders = replicas.knownLeaders
            waiting += config.shardNames.filter { leaders[$0] == nil && replicas.shards[$0]?.isLeading != true }.map { "leader of partition \($0)" }
        }
        return Readiness(status: waiting.isEmpty ? .ready : .notReady, waitingFor: waiting)
    }

    /// The node a create without an Idempotency-Key goes to: live members in turn — those
    /// whose partition's leader was heard from lately (`liveMembers`), as routing counts them,
    /// since that leader is where the create runs.
    func nextCreateTarget() -> String {
        let live = liveMembers()
        let targets = members.filter(live.contains)
        guard !targets.isEmpty else { return me }   // none heard: this node answers for itself
        let turn = roundRobin.add(1, ordering: .relaxed).newValue
        return targets[turn % targets.count]
    }

    // MARK: Calls to peers

    /// Runs a request on `member`: here when it is this node, through the member's
    /// `NodeService` otherwise. A dead or silent member gives 503 with Retry-After — never a guess.
    func call(_ shard: String, _ request: Request, body: [UInt8], context: NodeRequestContext,
              local: (Request, NodeRequestContext) async throws -> Response, why: String) async throws -> Response {
        let member = leader(of: shard)
        if member == me, shard == me { return try await local(request, context) }
        let outbound = ForwardedRequest(
            method: request.method.rawValue, target: request.uri.description,
            headers: ForwardedRequest.carriedHeaders.compactMap { name in
                request.headers[HTTPField.Name(name)!].map { .init(name: name, value: $0) }
            } + (context.identity.map { [.init(name: "x-ticketflow-identity", value: AuthenticationMiddleware.encode($0))] } ?? [])
              + (shard == member ? [] : [.init(name: Self.shardHeader, value: shard)]),
            body: body)
        guard await awaitAlive(member), let owner = services[member] else {
            throw Self.unavailable(shard, why: why, reason: member == shard ? "it is not answering heartbeats" : "\(member), which leads it now, is not answering heartbeats")
        }
        // A partition this node stands in for goes through its own node service too (a local
        // call, no network), which runs it on the stand-in, as for a peer's request.
        if member != me { forwarded.add(1, ordering: .relaxed) }
        let answer: ForwardedResponse
        do { answer = try await owner.handle(outbound, from: me) } catch {
            throw Self.unavailable(shard, why: why, reason: "\(error)")
        }
        return answer.response(servedBy: member)
    }

    /// Names the partition a forwarded request is for when its leader is not its home node.
    static let shardHeader = "x-ticketflow-partition"

    static func unavailable(_ member: String, why: String, reason: String) -> APIError {
        var e = APIError(.serviceUnavailable, "owner_unavailable", "\(why) belongs to node \(member), and \(reason); retry shortly")
        e.retryAfter = 2
        return e
    }

    /// A member's load (tickets, timers, agents); nil when it does not answer (the cluster
    /// view shows it as such), logged when it answers what does not decode.
    func status(of member: String) async -> NodeLoad? {
        guard isAlive(member), let service = services[member] else { return nil }
        do {
            return try JSONDecoder().decode(NodeLoad.self, from: Data(try await service.load()))
        } catch {
            logger.debug("load of \(member): \(error)")
            return nil
        }
    }

    // MARK: Responses on the wire

    /// The wire form of a response: its status, the headers clients need, and its body.
    static func encode(_ response: Response) async throws -> ForwardedResponse {
        let body = try await collect(response)
        let headers = ForwardedResponse.carriedHeaders.compactMap { name in
            response.headers[HTTPField.Name(name)!].map { ForwardedRequest.Header(name: name, value: $0) }
        }
        return ForwardedResponse(status: response.status.code, headers: headers, body: body)
    }

    /// Reads a response body into bytes.
    static func collect(_ response: Response) async throws -> [UInt8] {
        let sink = BodySink()
        try await response.body.write(sink)
        return sink.bytes
    }
}

/// Collects a response body (used in one task; no sharing).
private final class BodySink: ResponseBodyWriter {
    var bytes: [UInt8] = []
    func write(_ buffer: ByteBuffer) async throws { bytes.append(contentsOf: buffer.readableBytesView) }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
