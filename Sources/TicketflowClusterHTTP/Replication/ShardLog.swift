import Foundation
import Logging
import Synchronization
import TicketflowNode
import TicketflowReplication
import TicketflowStorage

/// How a replica reaches the other replicas of its partition: calls to their `ReplicaService`.
protocol ReplicaLinks: Sendable {
    func deliver(_ messages: ReplicationMessages, to peer: String) async throws -> ReplicationMessages
    func install(_ chunk: SnapshotChunk, to peer: String) async throws -> ReplicationMessages
    /// A piece of `peer`'s seed (users, tokens, sessions, workflows) for this node.
    func seed(from peer: String, offset: UInt64) async throws -> SeedPiece
}

/// One partition's replica on this node — the shell around the sans-IO `Replica`. Leading, it
/// is the node's `BatchReplicator`: each batch gets its place in the log, one sender per
/// follower carries the entries it lacks (one append in flight, so entries proposed meanwhile
/// travel together), and a request is answered once a majority holds its batch. Following, it
/// writes what the leader sends into its own SQLite file — an append's batches in one
/// transaction, acknowledged only once on disk — or replaces the file by a copy of the
/// leader's (`SnapshotChunk`).
final class ShardLog: BatchReplicator, Sendable {
    /// The partition, named after its home node.
    let shard: String
    let me: String
    let storePath: String
    let logger: Logger

    /// How long a batch may wait for its majority before its requests are answered 503.
    static let ackTimeout: Duration = .seconds(2)
    /// A leader sends each follower at least this often (an empty append when it lacks nothing).
    static let heartbeat: Duration = .milliseconds(200)
    /// A follower counts as in sync while it has answered within this span.
    static let inSyncWindow: Duration = .seconds(3)
    /// Entries the leader keeps in memory for followers that lag; further behind, a copy.
    static let window = 20_000

    private struct Waiter { var index: UInt64; var continuation: CheckedContinuation<Void, any Error> }
    private struct State {
        var replica: Replica
        var store: Store
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
        /// Set once this replica stopped leading for good (a newer epoch, the lease lost).
        var stopped: String?
        var heard: [String: ContinuousClock.Instant] = [:]
        /// One sender per follower (members and learners), while leading.
        var senders: [String: Task<Void, Never>] = [:]
        var snapshotting: Set<String> = []
        /// Whether this node's etcd lease may still be trusted (see `CoordinatorLease`).
        var leaseTrusted: @Sendable () -> Bool = { false }
        var handingOver: String?
        /// Leading in this process, from `lead` until `stop` or `resign`.
        var leads = false
        /// The epoch this replica promised when it last stood in an election.
        var promised: Epoch?
        /// The epochs whose first refusal and first batch without a majority were logged (with
        /// what the followers held): one line each per leadership, for a post-mortem.
        var refusalLogged: Epoch?
        var timeoutLogged: Epoch?
    }
    private let state: Mutex<State>
    /// Rung when a follower has something new to be sent.
    private let bells = Mutex<[String: Bell]>([:])
    private let links = Mutex<(any ReplicaLinks)?>(nil)
    private let gate = SerialGate()
    /// What the host does once this replica stops leading (`stop`): a stand-in goes, a node
    /// that lost its own partition exits.
    let onStopped = Mutex<(@Sendable (String) -> Void)?>(nil)

    /// The node on this replica cannot write its store: the partition is better led elsewhere.
    func localWriteFailed(_ reason: String) { stop("this node cannot write its store: \(reason)") }

    init(shard: String, me: String, members: [String], storePath: String, logger: Logger) throws {
        self.shard = shard; self.me = me; self.storePath = storePath; self.logger = logger
        let store = try Store(path: storePath)
        let mark = try store.logPosition()
        let replica = Replica(me: me, members: members, base: LogPosition(index: mark.index, epoch: Epoch(mark.epoch)))
        state = Mutex(State(replica: replica, store: store))
    }

    /// The partition's replicas as this one knows them (etcd's record, or the leader's change).
    var members: [String] { state.withLock { $0.replica.members } }

    var position: LogPosition { state.withLock { $0.replica.last } }
    var epoch: Epoch { state.withLock { $0.replica.epoch } }
    var isLeading: Bool { state.withLock { $0.replica.isLeader && $0.stopped == nil } }
    var store: Store { state.withLock { $0.store } }

    func attach(_ links: any ReplicaLinks) {
        self.links.withLock { $0 = links }
        if isLeading { startSenders() }
    }

    // MARK: Leading

    /// This node took the partition's leader key in etcd at `epoch`.
    func lead(epoch: Epoch, leaseTrusted: @escaping @Sendable () -> Bool) {
        state.withLock { s in
            _ = s.replica.lead(epoch: epoch)
            s.leads = true
            s.stopped = nil
            s.handingOver = nil
            s.leaseTrusted = leaseTrusted
            s.heard = [:]
        }
        logger.notice("partition \(shard): leading at \(epoch), log at \(position)")
        if links.withLock({ $0 != nil }) { startSenders() }
    }

    /// Stops leading for good: waiting requests fail, senders end.
    /// Only a leader stops; it follows from then on, in its epoch (never a newer one of its
    /// own making: that would depose the leader that replaced it), and `onStopped` runs once.
    func stop(_ reason: String) {
        let (waiters, senders, wasLeading) = state.withLock { s -> ([Waiter], [Task<Void, Never>], Bool) in
            guard s.leads else { return ([], [], false) }
            s.leads = false
            s.stopped = reason
            s.replica.resign()
            defer { s.waiters = [:]; s.senders = [:] }
            return (Array(s.waiters.values), Array(s.senders.values), true)
        }
        guard wasLeading else { return }
        for w in waiters { w.continuation.resume(throwing: ReplicationStopped(reason)) }
        for t in senders { t.cancel() }
        logger.warning("partition \(shard): stopped leading: \(reason)")
        onStopped.withLock { $0 }?(reason)
    }

    /// Hands the partition over: no new writes from now on (`refusal`), the senders go on
    /// until the caller has what it needs, then `resign`.
    func beginHandover(to node: String) { state.withLock { $0.handingOver = node } }

    /// A handover that failed: writes are taken again.
    func endHandover() { state.withLock { $0.handingOver = nil } }

    /// Follows from now on, in the same epoch, until the next leader's newer one arrives.
    func resign() {
        let senders = state.withLock { s -> [Task<Void, Never>] in
            s.replica.resign()
            s.leads = false
            s.handingOver = nil
            defer { s.senders = [:] }
            return Array(s.senders.values)
        }
        for t in senders { t.cancel() }
    }

    func refusal() -> String? {
        state.withLock { s in
            if let stopped = s.stopped { return "partition \(shard) is led elsewhere now: \(stopped)" }
            guard s.replica.isLeader else { return "partition \(shard) is not led here" }
            if let to = s.handingOver { return "partition \(shard) is being handed over to \(to)" }
            guard s.leaseTrusted() else { return "partition \(shard): this node's etcd lease is not renewed, so it may no longer lead" }
            let now = ContinuousClock.now
            let members = s.replica.members
            let inSync = (members.contains(me) ? 1 : 0) + s.heard.filter { members.contains($0.key) && now - $0.value <= Self.inSyncWindow }.count
            let majority = members.count / 2 + 1
            if inSync < majority {
                let reason = "partition \(shard): \(inSync) of \(members.count) replicas in sync, \(majority) needed"
                if s.refusalLogged != s.replica.epoch {
                    s.refusalLogged = s.replica.epoch
                    logger.warning("\(reason) — writes refused (first time at \(s.replica.epoch)); \(Self.followersView(s))")
                }
                return reason
            }
            return nil
        }
    }

    /// What the leader knows of each follower: how far it holds the log, when it last answered.
    private static func followersView(_ s: State) -> String {
        let now = ContinuousClock.now
        return s.replica.followers.map { f in
            let heard = s.heard[f].map { "answered \(now - $0) ago" } ?? "not answered this leadership"
            return "\(f) holds \(s.replica.matched(f)), \(heard)"
        }.joined(separator: "; ") + "; log at \(s.replica.last), acknowledged \(s.replica.committed)"
    }

    func propose(_ batch: CommitBatch) throws -> LogMark {
        let payload = try batch.wireBytes()
        let (mark, ready) = try state.withLock { s -> (LogMark, [Waiter]) in
            if let stopped = s.stopped { throw ReplicationStopped(stopped) }
            // Handing over: the copy for the home node must hold every batch there is.
            if let to = s.handingOver { throw ReplicationStopped("partition \(shard) is being handed over to \(to)") }
            guard let (index, actions) = s.replica.propose(payload) else { throw ReplicationStopped("partition \(shard) is not led here") }
            s.replica.compactLeaderLog(window: Self.window)
            return (LogMark(index: index, epoch: s.replica.epoch.value), Self.acknowledged(actions, &s))
        }
        for w in ready { w.continuation.resume() }
        for bell in bells.withLock({ Array($0.values) }) { bell.ring() }
        return mark
    }

    func acknowledged(_ mark: LogMark) async throws {
        let id = try state.withLock { s -> Int? in
            if let stopped = s.stopped { throw ReplicationStopped(stopped) }
            if s.replica.committed >= mark.index && s.leaseTrusted() { return nil }
            s.nextWaiter += 1
            return s.nextWaiter
        }
        guard let id else { return }
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            state.withLock { $0.waiters[id] = Waiter(index: mark.index, continuation: c) }
            Task { [self] in
                try? await Task.sleep(for: Self.ackTimeout)   // the waiter is settled either way
                let (late, view) = state.withLock { s -> (Waiter?, String?) in
                    let late = s.waiters.removeValue(forKey: id)
                    guard late != nil, s.timeoutLogged != s.replica.epoch else { return (late, nil) }
                    s.timeoutLogged = s.replica.epoch
                    return (late, Self.followersView(s))
                }
                if let view { logger.warning("partition \(shard): batch \(mark) had no majority within \(Self.ackTimeout) (first time at this epoch); \(view)") }
                late?.continuation.resume(throwing: ReplicationTimeout("batch \(mark) had no majority within \(Self.ackTimeout)"))
            }
        }
    }

    /// Waiters whose batch the replica's actions acknowledged (taken out of the state).
    private static func acknowledged(_ actions: [ReplicaAction], _ s: inout State) -> [Waiter] {
        var ready: [Waiter] = []
        for case .acknowledge(let upTo) in actions where s.leaseTrusted() {
            for (id, w) in s.waiters where w.index <= upTo { ready.append(w); s.waiters[id] = nil }
        }
        return ready
    }

    private func startSenders() {
        let old = state.withLock { s -> [Task<Void, Never>] in defer { s.senders = [:] }; return Array(s.senders.values) }
        for t in old { t.cancel() }
        syncSenders()
    }

    /// One sender for each follower the replica has now (members and learners): new ones
    /// start, those no longer followed stop.
    private func syncSenders() {
        let (started, stopped) = state.withLock { s -> ([String], [Task<Void, Never>]) in
            guard s.leads, s.stopped == nil else { return ([], []) }
            let followers = Set(s.replica.followers)
            let gone = s.senders.keys.filter { !followers.contains($0) }
            let stopped = gone.compactMap { s.senders.removeValue(forKey: $0) }
            let new = followers.filter { s.senders[$0] == nil }.sorted()
            for f in new { s.senders[f] = Task { [self] in await send(to: f) } }
            return (new, stopped)
        }
        for t in stopped { t.cancel() }
        if !started.isEmpty { logger.debug("partition \(shard): sending to \(started.joined(separator: ", "))") }
    }

    private func bell(_ follower: String) -> Bell {
        bells.withLock { b in
            if let bell = b[follower] { return bell }
            let bell = Bell()
            b[follower] = bell
            return bell
        }
    }

    // MARK: Changing the replicas (leader)

    /// `node` starts catching up from this leader, counted for nothing yet.
    func addLearner(_ node: String) {
        state.withLock { s in _ = s.replica.addLearner(node) }
        syncSenders()
    }

    /// Stops sending to a learner that will not join.
    func dropLearner(_ node: String) {
        state.withLock { s in s.replica.dropLearner(node) }
        syncSenders()
    }

    /// Whether `node` holds everything acknowledged so far.
    func holdsAcknowledged(_ node: String) -> Bool {
        state.withLock { $0.replica.isLeader && $0.replica.matched(node) >= $0.replica.committed }
    }

    /// Starts replacing the replicas by `new` (the joint rule: see `Replica.beginChange`).
    func beginChange(to new: [String]) -> Bool { state.withLock { $0.replica.beginChange(to: new) } }
    var changeIsReady: Bool { state.withLock { $0.replica.changeIsReady } }
    var changeUnderWay: MembershipChange? { state.withLock { $0.replica.change } }
    var learners: [String] { state.withLock { $0.replica.learners } }

    /// etcd recorded the new set: it alone counts from now on.
    func finishChange() {
        let ready = state.withLock { s -> [Waiter] in
            let actions = s.replica.finishChange()
            return Self.acknowledged(actions, &s)
        }
        for w in ready { w.continuation.resume() }
        syncSenders()
    }

    func abortChange() { state.withLock { $0.replica.abortChange() } }

    /// A follower: etcd records a new set of replicas for the partition.
    func reconfigure(members: [String]) {
        state.withLock { s in
            guard !s.replica.isLeader, s.replica.members != members else { return }
            s.replica.reconfigure(members: members)
        }
    }

    /// One follower's sender: what it lacks, one append at a time; a heartbeat when idle.
    private func send(to follower: String) async {
        while !Task.isCancelled {
            let actions = state.withLock { s in s.stopped == nil ? s.replica.append(for: follower) : [] }
            guard !actions.isEmpty, let links = links.withLock({ $0 }) else { return }
            do {
                for action in actions {
                    switch action {
                    case .send(_, let message):
                        let replies = try await links.deliver(ReplicationMessages(shard: shard, [message]), to: follower)
                        handle(replies.messages, from: follower)
                    case .sendSnapshot:
                        let (_, replies) = try await sendSnapshot(to: follower, through: links)
                        handle(replies.messages, from: follower)
                    default:
                        break
                    }
                }
            } catch {
                logger.debug("partition \(shard): \(follower) did not take the append: \(error)")
                try? await Task.sleep(for: Self.heartbeat)   // cancelled: the loop ends above
                continue
            }
            if !state.withLock({ $0.replica.lacks(follower) }) { await bell(follower).wait(timeout: Self.heartbeat) }
        }
    }

    /// A leader takes in a follower's answers.
    private func handle(_ replies: [ReplicationMessage], from follower: String) {
        var ready: [Waiter] = []
        var newer: Epoch?
        state.withLock { s in
            s.heard[follower] = .now
            for reply in replies {
                let actions = s.replica.receive(reply, from: follower)
                ready += Self.acknowledged(actions, &s)
                for case .stepDown(let epoch) in actions { newer = epoch }
            }
        }
        for w in ready { w.continuation.resume() }
        if let newer { stop("\(follower) follows a newer \(newer)") }
    }

    /// Copies this store (SQLite's online backup, consistent at one batch) and sends it in pieces.
    /// A copy of this store for the partition's home node taking it back, once every batch
    /// proposed is on disk here (none is proposed while handing over); the copy's position.
    func sendCopy(to home: String) async throws -> LogPosition {
        guard let links = links.withLock({ $0 }) else { throw ReplicationStopped("not connected to \(home)") }
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            let (store, last) = state.withLock { ($0.store, $0.replica.last) }
            let written = try store.logPosition()
            if written.index >= last.index { break }
            guard ContinuousClock.now < deadline else { throw ReplicationStopped("batch \(last) is not on disk after 5 s; no copy taken") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await sendSnapshot(to: home, through: links).position
    }

    private func sendSnapshot(to follower: String, through links: any ReplicaLinks) async throws -> (position: LogPosition, replies: ReplicationMessages) {
        let (store, epoch) = state.withLock { ($0.store, $0.replica.epoch) }
        let path = storePath + ".copy-for-" + follower
        try? FileManager.default.removeItem(atPath: path)   // a leftover of an earlier copy, if any
        defer { try? FileManager.default.removeItem(atPath: path) }   // the copy is sent or abandoned: it goes
        try store.backup(to: path)
        let copy = try Store(path: path)
        let mark = try copy.logPosition()
        try copy.close()
        // Read a piece at a time: a store of any size costs one piece of memory.
        let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? file.close() }   // read only: nothing to lose on close
        let size = try file.seekToEnd()
        try file.seek(toOffset: 0)
        logger.notice("partition \(shard): sending \(follower) a copy of the store (\(size) bytes, at \(mark))")
        let position = LogPosition(index: mark.index, epoch: Epoch(mark.epoch))
        var offset: UInt64 = 0
        var replies = ReplicationMessages(shard: shard, [])
        repeat {
            let piece = try file.read(upToCount: SnapshotChunk.size) ?? Data()
            guard !piece.isEmpty else { throw ReplicationStopped("the copy for \(follower) ended at \(offset) of \(size) bytes") }
            let end = offset + UInt64(piece.count)
            replies = try await links.install(SnapshotChunk(shard: shard, epoch: epoch, offset: offset, bytes: [UInt8](piece),
                                                            end: end >= size ? position : nil), to: follower)
            offset = end
        } while offset < size
        return (position, replies)
    }

    // MARK: Following

    /// What a leader sent: written to disk before anything is answered.
    func receive(_ incoming: ReplicationMessages, from leader: String) async throws -> ReplicationMessages {
        try await gate.run {
            var replies: [ReplicationMessage] = []
            for message in incoming.messages {
                let (actions, store) = state.withLock { ($0.replica.receive(message, from: leader), $0.store) }
                for action in actions {
                    switch action {
                    case let .persist(_, entries):
                        let batches = try entries.map { try CommitBatch(wireBytes: $0.payload) }
                        let last = entries.last!
                        try await store.commit(batches, position: LogMark(index: last.index, epoch: last.epoch.value))
                    case let .send(_, reply):
                        replies.append(reply)
                    case .stepDown(let newer):
                        stop("\(leader) leads at \(newer)")
                    default:
                        break
                    }
                }
            }
            return ReplicationMessages(shard: shard, replies)
        }
    }

    /// A piece of a copy of the leader's store; the last one replaces this replica's file.
    func install(_ chunk: SnapshotChunk, from leader: String) async throws -> ReplicationMessages {
        try await gate.run {
            let incoming = storePath + ".incoming"
            if chunk.offset == 0 {
                try? FileManager.default.removeItem(atPath: incoming)   // an abandoned copy, if any
                guard FileManager.default.createFile(atPath: incoming, contents: nil) else { throw ReplicationStopped("cannot write \(incoming)") }
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: incoming))
            let size = try handle.seekToEnd()
            guard size == chunk.offset else {
                try handle.close()
                throw ReplicationStopped("a copy's piece at \(chunk.offset) does not follow the \(size) bytes received")
            }
            try handle.write(contentsOf: Data(chunk.bytes))
            try handle.synchronize()
            try handle.close()
            guard let end = chunk.end else { return ReplicationMessages(shard: shard, []) }
            let (old, held) = state.withLock { ($0.store, $0.replica.last) }
            guard !isLeading else { throw ReplicationStopped("partition \(shard) is led here; a copy is not taken") }
            // Never a copy less advanced than what this replica holds (and may have acknowledged):
            // a copy taken before batches this replica received since. A diverged replica's
            // extra batches are of an older epoch, so a copy of the newer one replaces them.
            guard (end.epoch, end.index) >= (held.epoch, held.index) else {
                try? FileManager.default.removeItem(atPath: incoming)   // refused: the copy goes
                throw ReplicationStopped("a copy at \(end) is behind this replica's \(held); not taken")
            }
            // This node's own partition: its users, tokens and sessions are its own, not the copy's.
            if shard == me { try Store.carryNodeTables(from: storePath, into: incoming) }
            try old.close()
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: storePath + suffix) }   // absent when closed cleanly
            // rename(2) replaces the file in one step: a crash leaves the old store or the copy.
            guard rename(incoming, storePath) == 0 else {
                throw ReplicationStopped("cannot put the copy in place of \(storePath): \(String(cString: strerror(errno)))")
            }
            let store = try Store(path: storePath)
            let actions = state.withLock { s -> [ReplicaAction] in
                s.store = store
                return s.replica.installed(snapshot: end, from: leader)
            }
            logger.notice("partition \(shard): store replaced by \(leader)'s copy at \(end)")
            return ReplicationMessages(shard: shard, actions.compactMap { if case .send(_, let m) = $0 { return m } else { return nil } })
        }
    }

    /// An election is under way: the old leader is refused from now on (a promise of the
    /// epoch after the newest this replica has seen — made once per election, not at every
    /// look); the position this replica stands with, read between two writes, never with one
    /// half done.
    func stand() async throws -> LogPosition {
        try await gate.run {
            let (actions, position) = state.withLock { s -> ([ReplicaAction], LogPosition) in
                guard s.promised != s.replica.epoch else { return ([], s.replica.last) }
                let next = Epoch(s.replica.epoch.value + 1)
                s.promised = next
                return (s.replica.promise(next), s.replica.last)
            }
            if actions.contains(where: { if case .stepDown = $0 { return true } else { return false } }) { stop("an election began") }
            return position
        }
    }
}
