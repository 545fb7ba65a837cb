import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TicketflowAPI
import TicketflowCluster
import TicketflowCoordination
import TicketflowReplication
import TicketflowStorage
import TicketflowServer

/// The partitions this node holds replicas of, and who leads each — decided in etcd
/// (docs/replication.md). A partition is named after its home node: the tickets whose
/// partitions that node owns by the cluster file. Its leader holds `<prefix>leaders/<shard>`,
/// taken only if free and attached to the leader's lease; the key's create revision is the
/// epoch. With no leader, the replicas hold an election in etcd: each stands with its log's
/// last position under `<prefix>candidates/<shard>/<node>`, refusing the old leader from then
/// on, and once a majority stands, the one with the most advanced log (the home node on a
/// tie) takes the key. An acknowledged batch is on a majority, and any majority that stands
/// includes one of them, so the winner holds every acknowledged batch.
final class ReplicaHost: Service, Sendable {
    let config: ClusterConfig
    let me: String
    /// This node's replica of each partition it holds (or held) one of, its own included —
    /// opened when etcd's record names this node a replica or a learner of it; kept open once
    /// opened (a replica that is no member any more is sent nothing and stands in no election).
    private let logs = Mutex<[String: ShardLog]>([:])
    /// Each partition's replicas as etcd records them (`placement/<shard>`), with the learner
    /// its leader is catching up, if any (docs/replication.md, "Changing the nodes").
    private let placements = Mutex<[String: PlacementRecord]>([:])
    /// The nodes replicas are placed on, as etcd records them (`nodes`): the cluster file's
    /// at the first start, replaced by `ticketflow cluster nodes FILE`.
    private let placedNodes = Mutex<[String]>([])
    private let links = Mutex<(any ReplicaLinks)?>(nil)
    let dataDirectory: String
    let etcd: EtcdClient
    let membership: EtcdMembership
    let logger: Logger
    /// Who leads each partition, as etcd said last.
    private let leaders = Mutex<[String: Leader]>([:])
    /// Called when this node takes a partition that is not its own (it stands in for a dead
    /// home node), and when it gives one up.
    private let standIns = Mutex<StandInHooks?>(nil)

    /// Each member's incarnation — the lease its process holds its membership key under — and
    /// when this node saw it change (distant past for the one found first).
    private let incarnations = Mutex<[String: (lease: Int64, since: Date)]>([:])

    struct Leader: Sendable, Equatable { var node: String; var epoch: Int64 }

    struct StandInHooks: Sendable {
        var start: @Sendable (ShardLog) async throws -> Void
        var stop: @Sendable (String) async -> Void
    }

    static let period: Duration = .milliseconds(250)

    init(config: ClusterConfig, me: String, dataDirectory: String, membership: EtcdMembership, logger: Logger) throws {
        self.config = config
        self.me = me
        self.membership = membership
        self.etcd = membership.client
        self.logger = logger
        self.dataDirectory = dataDirectory
        try FileManager.default.createDirectory(atPath: dataDirectory + "/replicas", withIntermediateDirectories: true)
    }

    /// Every replica this node holds, by partition.
    var shards: [String: ShardLog] { logs.withLock { $0 } }

    /// This node's own partition, while it is one of its replicas: nil on a node added later
    /// (no partition is its home) and on one whose partition was placed on other nodes.
    var home: ShardLog? { placement(of: me)?.members.contains(me) == true ? shards[me] : nil }

    func placement(of shard: String) -> PlacementRecord? { placements.withLock { $0[shard] } }

    func attachLinks(_ links: any ReplicaLinks) {
        self.links.withLock { $0 = links }
        for log in shards.values { log.attach(links) }
    }

    private var layoutKey: String { config.etcdPrefix + "layout" }
    private var nodesKey: String { PlacementRecord.nodesKey(config) }
    private func placementKey(_ shard: String) -> String { PlacementRecord.key(config, shard) }
    private func learnerKey(_ shard: String) -> String { PlacementRecord.learnerKey(config, shard) }

    /// Before anything else: checks the file lays tickets out as the cluster does, reads (at
    /// the very first start: writes) the nodes replicas are placed on and every partition's
    /// replicas, and opens this node's replicas.
    func load() async throws {
        try checkLayout()
        _ = try await etcd.putIfAbsent(layoutKey, Self.layout(config), lease: 0)
        let (_, nodes) = try await etcd.putIfAbsent(nodesKey, config.nodeNames.joined(separator: ","), lease: 0)
        placedNodes.withLock { $0 = nodes.map { PlacementRecord.names($0.value) } ?? config.nodeNames }
        let among = placedNodes.withLock { $0 }
        for shard in config.shardNames {
            _ = try await etcd.putIfAbsent(placementKey(shard), config.replicaSet(of: shard, among: among).joined(separator: ","), lease: 0)
        }
        try await readPlacements()
    }

    static func layout(_ config: ClusterConfig) -> String { "\(config.partitions)|" + config.shardNames.joined(separator: ",") }

    /// Where tickets live — the partition count and the partitions' homes — as this node's data
    /// directory first knew it (`layout` beside the store): a file that would lay them out
    /// otherwise (a node added without `shards:`) is refused before anything moves.
    private func checkLayout() throws {
        let path = dataDirectory + "/layout", layout = Self.layout(config)
        guard let recorded = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else {
            guard FileManager.default.createFile(atPath: path, contents: Data(layout.utf8)) else { throw StartupError(description: "cannot write \(path)") }
            return
        }
        guard recorded != layout else { return }
        let parts = recorded.split(separator: "|", maxSplits: 1).map(String.init)
        let homes = parts.count > 1 ? parts[1].replacingOccurrences(of: ",", with: ", ") : "?"
        throw StartupError(description: "this node's data keeps tickets in \(parts.first ?? "?") partitions over the homes \(homes), but the cluster file lays them out over \(config.partitions) partitions and \(config.shardNames.joined(separator: ", ")): adding or removing a node must not move tickets — keep the homes with `shards: [\(homes)]` (docs/replication.md, \"Changing the nodes\")")
    }

    /// Reads every partition's record, opens the replicas it newly names this node in, and
    /// tells the followers of a new set.
    private func readPlacements() async throws {
        let read = try await PlacementRecord.read(config, from: etcd)
        placements.withLock { $0 = read }
        for (shard, placement) in read.sorted(by: { $0.key < $1.key }) where config.isShard(shard) && !placement.members.isEmpty {
            if let log = shards[shard] {
                log.reconfigure(members: placement.members)
            } else if placement.members.contains(me) || placement.learner == me {
                try open(shard, members: placement.members)
            }
        }
    }

    private func open(_ shard: String, members: [String]) throws {
        let path = config.storePath(of: shard, on: me, dataDirectory: dataDirectory)
        let log = try ShardLog(shard: shard, me: me, members: members, storePath: path, logger: logger)
        log.onStopped.withLock { [unowned self] in $0 = { reason in self.stoppedLeading(shard, because: reason) } }
        logs.withLock { $0[shard] = log }
        if let links = links.withLock({ $0 }) { log.attach(links) }
        logger.info("partition \(shard): holding a replica here (replicas \(members.joined(separator: ", ")))")
    }

    /// The stand-in hooks, once the node serves; partitions won before then start now.
    func attach(standIns hooks: StandInHooks) async {
        standIns.withLock { $0 = hooks }
        for (shard, log) in shards where shard != me && log.isLeading { await startStandIn(log) }
    }

    private func startStandIn(_ log: ShardLog) async {
        guard let hooks = standIns.withLock({ $0 }) else { return }   // started by `attach` later
        do { try await hooks.start(log) } catch {
            log.stop("cannot serve it here: \(error)")
        }
    }

    /// Where a partition's requests go: its leader, as far as this node knows (its home node
    /// when none is known).
    func leader(of shard: String) -> String {
        if shards[shard]?.isLeading == true { return me }
        return leaders.withLock { $0[shard]?.node } ?? shard
    }

    var knownLeaders: [String: Leader] { leaders.withLock { $0 } }

    /// Every partition, its replicas, its leader as etcd said last, and this node's position.
    func view() -> [ReplicaGroupView] {
        let known = knownLeaders
        let shards = self.shards
        return config.shardNames.map { shard in
            let leader = shards[shard]?.isLeading == true ? Leader(node: me, epoch: Int64(shards[shard]!.epoch.value)) : known[shard]
            let placement = placement(of: shard)
            return ReplicaGroupView(partition: shard, replicas: placement?.members ?? config.replicaSet(of: shard), leader: leader?.node, epoch: leader?.epoch,
                                    position: shards[shard].map { "\($0.position)" }, learner: placement?.learner)
        }
    }

    /// Whether `member` started again (a new lease in etcd) after `heard`, when this node last
    /// heard from it: a restarted peer this node has not heard from yet, worth waiting for.
    func restarted(_ member: String, after heard: Date) -> Bool {
        incarnations.withLock { $0[member] }.map { $0.since > heard } ?? false
    }

    private func key(_ shard: String) -> String { config.etcdPrefix + "leaders/" + shard }
    private func candidates(_ shard: String) -> String { config.etcdPrefix + "candidates/" + shard + "/" }

    // MARK: Start

    /// Before the node opens its own store: takes its own partition back — from the node
    /// standing in for it (which hands over a copy of the store), or by election — so it
    /// serves only once it leads what it serves. Gives up after `limit`.
    func takeHomePartition(limit: Duration = .seconds(60)) async throws {
        guard let home else { return }
        let deadline = ContinuousClock.now + limit
        var lastProblem = "etcd did not answer"
        while ContinuousClock.now < deadline {
            do {
                try await membership.keepOnce()
                guard let lease = membership.currentLease else { throw EtcdClient.Failure(description: "no lease") }
                let holder = try await etcd.get(key(me))
                switch holder {
                case nil:
                    if try await stand(for: me, lease: lease) { return }
                    lastProblem = "an election for partition \(me) has not ended (too few replicas standing?)"
                case let h? where h.value == me:
                    // Held by this node's previous run (killed before its lease ran out): this run
                    // holds the data directory's lock, so that run is gone; its key goes.
                    if h.lease != lease {
                        try await etcd.delete(key(me), ifCreatedAt: h.createRevision)
                        logger.notice("partition \(me): removed the leader key left by this node's previous run")
                    } else {
                        home.lead(epoch: Epoch(UInt64(h.createRevision)), leaseTrusted: { [membership] in membership.isTrusted })
                        return
                    }
                case let h?:
                    lastProblem = "\(h.value) stands in for this node's partition and has not handed it over yet"
                    try await requestHandover(from: h.value)
                }
            } catch {
                lastProblem = "\(error)"
                logger.info("taking partition \(me) back: \(error)")
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        throw ClusterCallError("could not take partition \(me) back within \(limit): \(lastProblem)")
    }

    /// Set by the cluster join once the actor system runs: asks a peer to hand over.
    let handoverRequester = Mutex<(@Sendable (String) async throws -> Void)?>(nil)

    private func requestHandover(from peer: String) async throws {
        guard let ask = handoverRequester.withLock({ $0 }) else { throw ClusterCallError("not connected to peers yet") }
        try await ask(peer)
    }

    /// This node stands in for `home`'s partition and `home` is back: no more writes here, the
    /// batches in flight reach a majority, `home` gets a copy of the store, the key goes.
    func handOver(_ shard: String, to home: String) async throws -> LogPosition {
        guard shard == home, let log = shards[shard], log.isLeading else {
            throw ClusterCallError("\(me) does not lead partition \(shard)")
        }
        log.beginHandover(to: home)
        await standIns.withLock({ $0 })?.stop(shard)
        let position: LogPosition
        do { position = try await log.sendCopy(to: home) } catch {
            // The home node did not take the copy: this node serves the partition on.
            log.endHandover()
            await startStandIn(log)
            throw error
        }
        log.resign()
        if let held = leaders.withLock({ $0[shard] }), held.node == me {
            try await etcd.delete(key(shard), ifCreatedAt: held.epoch)
        }
        leaders.withLock { $0[shard] = nil }
        logger.notice("partition \(shard): handed over to \(home) at \(position)")
        return position
    }

    // MARK: Elections

    /// Stands in the election for `shard`; whether this node won it (and leads now).
    private func stand(for shard: String, lease: Int64) async throws -> Bool {
        guard let log = shards[shard], let placement = placement(of: shard), placement.members.contains(me) else { return false }
        let position = try await log.stand()
        try await etcd.put(candidates(shard) + me, "\(position.index) \(position.epoch.value)", lease: lease)
        let standing = try await etcd.keys(prefix: candidates(shard)).compactMap { kv -> (node: String, index: UInt64, epoch: UInt64)? in
            let parts = kv.value.split(separator: " ")
            guard parts.count == 2, let index = UInt64(parts[0]), let epoch = UInt64(parts[1]) else { return nil }
            return (String(kv.key.dropFirst(candidates(shard).count)), index, epoch)
        }
        // The replicas etcd records, read again: a change recorded meanwhile counts.
        guard let record = try await etcd.get(placementKey(shard)) else { return false }
        let members = PlacementRecord.names(record.value)
        let votes = standing.filter { members.contains($0.node) }
        guard votes.count >= members.count / 2 + 1 else { return false }
        let best = votes.max { a, b in
            if (a.epoch, a.index) != (b.epoch, b.index) { return (a.epoch, a.index) < (b.epoch, b.index) }
            // On a tie the home node wins, then the earlier name.
            if (a.node == shard) != (b.node == shard) { return b.node == shard }
            return a.node > b.node
        }!
        guard best.node == me else { return false }
        if shard != me, members.contains(shard), !votes.contains(where: { $0.node == shard }) {
            // The home node wins ties and may be starting: take its partition only once it is
            // not a member any more (its lease gone), or has stood and lost.
            if try await etcd.get(config.etcdPrefix + "members/" + shard) != nil { return false }
        }
        // Taken only while the replicas are the ones counted above.
        guard try await etcd.put(key(shard), me, lease: lease, if: [.created(key(shard), at: 0), .modified(placementKey(shard), at: record.modRevision)]),
              let holder = try await etcd.get(key(shard)), holder.value == me, holder.lease == lease else { return false }
        try await etcd.deletePrefix(candidates(shard))
        leaders.withLock { $0[shard] = Leader(node: me, epoch: holder.createRevision) }
        log.lead(epoch: Epoch(UInt64(holder.createRevision)), leaseTrusted: { [membership] in membership.isTrusted })
        logger.notice("partition \(shard): elected with the log at \(position), epoch \(holder.createRevision)")
        return true
    }

    // MARK: Watching

    /// The watch loop: started before the node opens its store (its peers' elections need
    /// its vote while it takes its own partition back), ended when the node's services stop.
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    func startWatching() {
        let task = Task { [self] in
            while !Task.isCancelled {
                do { try await watch() } catch {
                    logger.debug("replication: \(error)")
                }
                try? await Task.sleep(for: Self.period)   // cancelled at shutdown: the loop ends
            }
        }
        watcher.withLock { $0 = task }
    }

    func run() async throws {
        // Runs until the node shuts down gracefully, then stops watching and leading.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }   // cancelled: shutdown
        }
        watcher.withLock { $0 }?.cancel()
    }

    /// One look at every partition's leader key: follow changes, stop leading what this node
    /// no longer holds, stand when a partition has no leader.
    private func watch() async throws {
        let held = try await etcd.keys(prefix: config.etcdPrefix + "leaders/")
        var now: [String: Leader] = [:]
        for kv in held { now[String(kv.key.dropFirst((config.etcdPrefix + "leaders/").count))] = Leader(node: kv.value, epoch: kv.createRevision) }
        leaders.withLock { $0 = now }
        let membersPrefix = config.etcdPrefix + "members/"
        let members = try await etcd.keys(prefix: membersPrefix)
        let looked = Date()
        incarnations.withLock { known in
            for kv in members {
                let name = String(kv.key.dropFirst(membersPrefix.count))
                guard known[name]?.lease != kv.lease else { continue }
                known[name] = (kv.lease, known[name] == nil ? .distantPast : looked)
            }
        }
        if let nodes = try await etcd.get(nodesKey) { placedNodes.withLock { $0 = PlacementRecord.names(nodes.value) } }
        try await readPlacements()
        let lease = membership.currentLease
        let alive = Set(members.map { String($0.key.dropFirst(membersPrefix.count)) })
        for (shard, log) in shards.sorted(by: { $0.key < $1.key }) {
            let leader = now[shard]
            if log.isLeading {
                let mine = held.first { $0.key == key(shard) }
                if leader?.node != me || mine?.lease != lease || UInt64(leader?.epoch ?? 0) != log.epoch.value {
                    lost(shard, log, to: leader)
                } else if let lease, let epoch = leader?.epoch {
                    try await place(shard, log, epoch: epoch, lease: lease, alive: alive)
                }
                continue
            }
            // This node's own partition is taken at start (`takeHomePartition`), while it is one
            // of its replicas; the others whenever they have no leader.
            if shard != me || home == nil, leader == nil, let lease, membership.isTrusted {
                if try await stand(for: shard, lease: lease) { await startStandIn(log) }
            }
        }
    }

    // MARK: Placing replicas

    /// A leader moves its partition's replicas toward where the recorded nodes put them, one
    /// node at a time: the node to add catches up as a learner (named in etcd, so it opens a
    /// replica), then replaces the node to remove under the joint rule, and the new set is
    /// written to etcd only while this node still holds the key at `epoch` and over the record
    /// the change was made from. A leader that placed itself out gives the key up.
    private func place(_ shard: String, _ log: ShardLog, epoch: Int64, lease: Int64, alive: Set<String>) async throws {
        guard let placement = placement(of: shard), !placement.members.isEmpty else { return }
        let wanted = config.replicaSet(of: shard, among: placedNodes.withLock { $0 })
        let current = placement.members
        if let change = log.changeUnderWay {
            guard log.changeIsReady else { return }
            let written = try await etcd.put(placementKey(shard), change.new.joined(separator: ","), deleting: learnerKey(shard),
                                              if: [.created(key(shard), at: epoch), .modified(placementKey(shard), at: placement.revision)])
            guard written else {
                log.abortChange()
                logger.warning("partition \(shard): the change of its replicas to \(change.new.joined(separator: ", ")) was not recorded (the key or the record changed); abandoned")
                return
            }
            log.finishChange()
            try await readPlacements()
            logger.notice("partition \(shard): replicas now \(change.new.joined(separator: ", ")) (were \(change.old.joined(separator: ", ")))")
            if !change.new.contains(me) {
                // Placed out of its own partition's replicas: the others elect a leader among them.
                log.stop("this node is no replica of partition \(shard) any more")
            }
            return
        }
        guard Set(current) != Set(wanted) else {
            if let learner = placement.learner {   // a learner left by an earlier leader
                log.dropLearner(learner)
                try await etcd.deletePrefix(learnerKey(shard))
            }
            return
        }
        // A node to add: wanted, up (its lease held) and known to this node's file (its address
        // and key); one to remove: placed elsewhere now — replaced, or dropped when there are
        // fewer nodes than replicas wanted.
        let extra = current.filter { !wanted.contains($0) }
        let adding = wanted.first { !current.contains($0) && alive.contains($0) && config.node($0) != nil }
        let room = wanted.count - (adding == nil ? 0 : 1)   // places left beside the node added
        let removing = current.count > room ? extra.first : nil
        if let adding {
            if placement.learner != adding {
                try await etcd.put(learnerKey(shard), adding, lease: lease, if: [.created(key(shard), at: epoch)])
                logger.notice("partition \(shard): \(adding) catches up to replace \(removing ?? "no one")")
            }
            if !log.learners.contains(adding) { log.addLearner(adding); return }
            // Caught up with what is acknowledged: the joint rule from here to the record.
            guard log.holdsAcknowledged(adding) else { return }
            let new = current.filter { $0 != removing } + [adding]
            _ = log.beginChange(to: new)
        } else if let removing, current.count > 1 {
            _ = log.beginChange(to: current.filter { $0 != removing })
        }
    }

    /// This node led `shard` and does no more (its key vanished with its lease, or another
    /// holds it): the replica stops, and `stoppedLeading` follows.
    private func lost(_ shard: String, _ log: ShardLog, to leader: Leader?) {
        log.stop(leader.map { "\($0.node) leads it at epoch \($0.epoch)" } ?? "its leader key is gone (the lease lapsed)")
    }

    /// Whatever made a replica here stop leading (a newer epoch seen on the stream, the key
    /// gone, a store that cannot be written): a stand-in just stops and frees the key if it
    /// still holds it. The node's own partition cannot be given back while its node runs on
    /// it, so the process exits for its supervisor to restart it: it comes back as a follower
    /// and takes its partition back by handover (docs/replication.md).
    private func stoppedLeading(_ shard: String, because reason: String) {
        if shard == me, placement(of: me)?.members.contains(me) != false {
            logger.critical("partition \(me): this node leads it no more (\(reason)); exiting to come back as a follower")
            // At once, without exit handlers (other threads still run): the data directory's
            // lock goes with the process, so a supervisor can start the node again right away.
            fflush(nil)
            _exit(75)
        }
        let held = leaders.withLock { $0[shard] }
        let hooks = standIns.withLock { $0 }
        let key = key(shard)
        Task { [etcd] in
            await hooks?.stop(shard)
            if let held, held.node == me {
                // Still ours in etcd (a store that cannot be written, say): free it for the others.
                _ = try? await etcd.delete(key, ifCreatedAt: held.epoch)   // gone anyway when the lease lapses
            }
        }
    }
}
