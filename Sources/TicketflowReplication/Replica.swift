/// One replica of one partition's log, as a value: the leader's and the followers' side of
/// the replication protocol (docs/replication.md), sans IO. Inputs are proposals (a leader's
/// committed batch), messages from the other replicas, ticks and a new epoch from the
/// coordinator; outputs are `ReplicaAction`s the shell performs in order — write to the
/// journal, send on the stream, answer clients, step down.
///
/// The rules, after Raft's log replication and Kafka's in-sync replicas: entries carry the
/// epoch that wrote them; a follower accepts entries only after the entry before them
/// matches, and replaces a conflicting tail (a deposed leader's unacknowledged batches); the
/// leader acknowledges an entry of its own epoch once a majority (itself included) has it on
/// disk, and everything before it with it; a replica that sees a newer epoch follows it, and
/// a leader that does steps down at once.
public struct Replica: Sendable {
    public enum Role: Hashable, Sendable {
        case leader
        case follower(leader: String?)
    }

    public let me: String
    /// The partition's replicas — voters: an entry is acknowledged once a majority of them has
    /// it, and only they stand in elections. This one is among them, except on a learner (a
    /// node catching up before it joins) and on a leader that has just removed itself.
    public private(set) var members: [String]
    /// Leader: nodes catching up before they join `members` (sent everything, counted for nothing).
    public private(set) var learners: [String] = []
    /// Leader: a change of `members` under way (see `beginChange`).
    public private(set) var change: MembershipChange?
    public private(set) var epoch: Epoch = .none
    public private(set) var role: Role = .follower(leader: nil)
    /// The log after `base`, as this replica holds it on disk. A follower applies what it
    /// receives to its store at once and keeps no entries in memory; the leader keeps a window
    /// of recent entries to send to followers that lag (`compact`).
    public private(set) var log: [LogEntry] = []
    /// The last entry no longer held in `log`: in the store (applied), or, on the leader,
    /// compacted away. A follower that needs entries before the leader's base gets a copy of
    /// the leader's store instead (`sendSnapshot`).
    public private(set) var base: LogPosition = .start
    /// How far entries are acknowledged (leader) or known to be (follower).
    public private(set) var committed: UInt64 = 0
    /// Leader: what each follower holds, and where to send from next.
    private var matched: [String: UInt64] = [:]
    private var next: [String: UInt64] = [:]

    /// Most entries sent in one append, and most payload bytes (one entry always goes, however
    /// large): an append must fit a ZeroMQ frame (4 MiB).
    public static let batchLimit = 64
    public static let byteLimit = 2 << 20

    /// A replica whose store holds everything up to `base` (and, for a leader being tested,
    /// `log` after it).
    public init(me: String, members: [String], base: LogPosition = .start, log: [LogEntry] = [], epoch: Epoch = .none, committed: UInt64 = 0) {
        self.me = me; self.members = members; self.base = base; self.log = log; self.epoch = epoch; self.committed = committed
    }

    public var last: LogPosition { log.last.map { LogPosition(index: $0.index, epoch: $0.epoch) } ?? base }
    public var isLeader: Bool { role == .leader }
    var majority: Int { members.count / 2 + 1 }
    /// Everyone a leader sends to: the other members, the learners, and the nodes a change adds.
    public var followers: [String] {
        var seen: Set<String> = [me]
        return (members + learners + (change?.new ?? [])).filter { seen.insert($0).inserted }
    }

    /// The position of entry `index`, nil when it is before `base` (compacted) or after the end.
    func position(at index: UInt64) -> LogPosition? {
        if index == base.index { return base }
        guard index > base.index, index <= last.index else { return nil }
        return LogPosition(index: index, epoch: log[Int(index - base.index - 1)].epoch)
    }

    /// Drops entries up to `index` from memory (they stay in the store): the leader keeps a
    /// window for lagging followers, a follower keeps none.
    public mutating func compact(through index: UInt64) {
        guard index > base.index, let position = position(at: min(index, last.index)) else { return }
        log.removeFirst(Int(position.index - base.index))
        base = position
    }

    /// Leader: the most entries to keep in memory beyond what every follower holds; a follower
    /// further behind gets a copy of the store.
    public mutating func compactLeaderLog(window: Int) {
        guard isLeader else { return }
        let everyone = followers.map { matched[$0] ?? 0 }.min() ?? last.index
        let floor = last.index > UInt64(window) ? last.index - UInt64(window) : 0
        compact(through: min(committed, max(everyone, floor)))
    }

    /// Follower: a copy of the leader's store up to `position` replaced this replica's store.
    public mutating func installed(snapshot position: LogPosition, from leader: String) -> [ReplicaAction] {
        guard !isLeader else { return [] }
        log = []
        base = position
        committed = min(committed, position.index)
        return [.send(to: leader, .ack(epoch: epoch, matched: position.index))]
    }

    // MARK: Leading

    /// The coordinator made this replica leader for `epoch` (it took the leader key, and is
    /// in sync: it holds every acknowledged entry). Sends every follower where it stands.
    public mutating func lead(epoch newEpoch: Epoch) -> [ReplicaAction] {
        guard newEpoch > epoch else { return [] }
        epoch = newEpoch
        role = .leader
        matched = [me: last.index]
        for f in followers { matched[f] = 0; next[f] = last.index + 1 }
        return followers.flatMap { sendAppend(to: $0) }
    }

    /// A leader's new batch: written here, then sent to every follower. Nil when not leading.
    public mutating func propose(_ payload: [UInt8]) -> (index: UInt64, actions: [ReplicaAction])? {
        guard isLeader else { return nil }
        let entry = LogEntry(index: last.index + 1, epoch: epoch, payload: payload)
        let keeping = last.index
        log.append(entry)
        matched[me] = entry.index
        var actions: [ReplicaAction] = [.persist(keeping: keeping, entries: [entry])]
        for f in followers where next[f] == entry.index { actions += sendAppend(to: f) }
        actions += advanceCommit()
        return (entry.index, actions)
    }

    /// Periodically: send each follower what it lacks (or an empty append carrying the
    /// acknowledged index): lost messages are sent again, nothing waits on a timer of its own.
    public mutating func tick() -> [ReplicaAction] {
        guard isLeader else { return [] }
        return followers.flatMap { sendAppend(to: $0) }
    }

    /// Leader: what to send `follower` now — the entries it lacks (an empty append carrying
    /// the acknowledged index when it lacks none), or `sendSnapshot`. A shell that keeps one
    /// message in flight per follower asks this each time the previous one was answered.
    public func append(for follower: String) -> [ReplicaAction] { isLeader ? sendAppend(to: follower) : [] }

    /// Leader: how far `follower` is known to hold this log.
    public func matched(_ follower: String) -> UInt64 { matched[follower] ?? 0 }

    /// Leader: whether `follower` is known to lack entries this log holds.
    public func lacks(_ follower: String) -> Bool { isLeader && (next[follower] ?? 1) <= last.index }


    private func sendAppend(to follower: String) -> [ReplicaAction] {
        let from = next[follower] ?? last.index + 1
        // What the follower lacks is no longer in memory: it gets a copy of the store.
        guard let previous = position(at: from - 1) else { return from - 1 < base.index ? [.sendSnapshot(to: follower)] : [] }
        var upTo = min(last.index, from - 1 + UInt64(Self.batchLimit))
        var bytes = 0
        for index in from...max(from, upTo) where index <= upTo {
            bytes += log[Int(index - base.index - 1)].payload.count
            if bytes > Self.byteLimit, index > from { upTo = index - 1; break }
        }
        let entries = from <= upTo ? Array(log[Int(from - base.index - 1)..<Int(upTo - base.index)]) : []
        return [.send(to: follower, .append(epoch: epoch, previous: previous, entries: entries, committed: committed, last: last.index))]
    }

    /// The highest index of this epoch held by a majority becomes acknowledged (with all before it).
    private mutating func advanceCommit() -> [ReplicaAction] {
        var candidate = last.index
        while candidate > committed {
            let holders = members.filter { (matched[$0] ?? 0) >= candidate }.count
            let newHolders = change.map { c in c.new.filter { (matched[$0] ?? 0) >= candidate }.count } ?? Int.max
            if holders >= majority, newHolders >= (change?.new.count ?? 0) / 2 + 1, position(at: candidate)?.epoch == epoch {
                committed = candidate
                return [.acknowledge(upTo: candidate)]
            }
            candidate -= 1
        }
        return []
    }

    /// An election is under way for an epoch after `epoch`: refuse the old leader from now on,
    /// so the position this replica stands for in the election stays what it is. A leader
    /// that promises steps down.
    public mutating func promise(_ newer: Epoch) -> [ReplicaAction] {
        guard newer > epoch else { return [] }
        let wasLeader = isLeader
        epoch = newer
        role = .follower(leader: nil)
        matched = [:]; next = [:]; learners = []; change = nil
        return wasLeader ? [.stepDown(newer: newer)] : []
    }

    /// A leader handing its partition over (to its home node): it follows from now on, in the
    /// same epoch, until the next leader's newer epoch reaches it.
    public mutating func resign() {
        guard isLeader else { return }
        role = .follower(leader: nil)
        matched = [:]; next = [:]; learners = []; change = nil
    }

    // MARK: Changing the replicas

    /// Leader: `node` starts catching up — sent everything from where it stands, counted for
    /// nothing until a change makes it a member.
    public mutating func addLearner(_ node: String) -> [ReplicaAction] {
        guard isLeader, node != me, !members.contains(node), !learners.contains(node) else { return [] }
        learners.append(node)
        matched[node] = 0
        next[node] = last.index + 1
        return sendAppend(to: node)
    }

    /// Leader: stops sending to a learner that will not join after all.
    public mutating func dropLearner(_ node: String) {
        guard learners.contains(node), change?.new.contains(node) != true else { return }
        learners.removeAll { $0 == node }
        matched[node] = nil; next[node] = nil
    }

    /// Leader: starts replacing `members` by `new`, which adds at most one node (a learner)
    /// and removes at most one. From now on an entry is acknowledged only once a majority of
    /// each set holds it; everything acknowledged before is on a majority of the old set, which
    /// shares a member with any majority of the new one, so once the node added holds it too
    /// it is on a majority of the new set as well (`changeIsReady` checks exactly that): the
    /// coordinator may then record `new` (an election from then on counts the new set) and
    /// call `finishChange`.
    public mutating func beginChange(to new: [String]) -> Bool {
        guard isLeader, change == nil, !new.isEmpty, Set(new).count == new.count else { return false }
        let added = new.filter { !members.contains($0) }, removed = members.filter { !new.contains($0) }
        guard added.count <= 1, removed.count <= 1, added.allSatisfy(learners.contains), !(added.isEmpty && removed.isEmpty) else { return false }
        change = MembershipChange(old: members, new: new, from: committed)
        return true
    }

    /// Leader: whether the change under way may be recorded — a majority of the new set holds
    /// every entry acknowledged before it began (those since are, by the joint rule). Adding a
    /// node, that is the node added once caught up; removing one without a replacement, the
    /// remaining nodes must hold what the removed one may have acknowledged for them.
    public var changeIsReady: Bool {
        guard let change else { return false }
        return change.new.filter { (matched[$0] ?? 0) >= change.from }.count >= change.new.count / 2 + 1
    }

    /// Leader: the coordinator recorded the new set — it alone counts from now on. A leader
    /// that removed itself acknowledges with the new set until it steps down.
    public mutating func finishChange() -> [ReplicaAction] {
        guard let change else { return [] }
        members = change.new
        learners.removeAll { change.new.contains($0) }
        self.change = nil
        let keep = Set(followers + [me])
        matched = matched.filter { keep.contains($0.key) }
        next = next.filter { keep.contains($0.key) }
        return advanceCommit()
    }

    /// Leader: the change could not be recorded; the old set counts alone again.
    public mutating func abortChange() { change = nil }

    /// Follower: the coordinator recorded a new set of replicas (a leader's change, read back).
    public mutating func reconfigure(members new: [String]) {
        guard !isLeader else { return }
        members = new
    }

    // MARK: Receiving

    public mutating func receive(_ message: ReplicationMessage, from sender: String) -> [ReplicaAction] {
        guard sender != me, members.contains(sender) || followers.contains(sender) else { return [] }
        if message.epoch < epoch {
            // From an older leader (or about one): tell it, change nothing.
            if case .append = message { return [.send(to: sender, .stale(epoch: epoch))] }
            return []
        }
        var actions: [ReplicaAction] = []
        if message.epoch > epoch {
            let wasLeader = isLeader
            epoch = message.epoch
            role = .follower(leader: nil)
            matched = [:]; next = [:]; learners = []; change = nil
            if wasLeader { actions.append(.stepDown(newer: epoch)) }
        }
        switch message {
        case let .append(_, previous, entries, leaderCommitted, leaderLast):
            if isLeader { return actions }   // two leaders of one epoch cannot be: the coordinator's key is one
            role = .follower(leader: sender)
            return actions + follow(previous: previous, entries: entries, leaderCommitted: leaderCommitted, leaderLast: leaderLast, leader: sender)
        case let .ack(_, acked):
            guard isLeader else { return actions }
            matched[sender] = max(matched[sender] ?? 0, min(acked, last.index))
            next[sender] = max(next[sender] ?? 1, (matched[sender] ?? 0) + 1)
            return actions + advanceCommit()
        case let .mismatch(_, followerLast):
            guard isLeader else { return actions }
            // Past this log's end the follower holds what this leader never wrote: a deposed leader's.
            if followerLast > last.index { return actions + [.sendSnapshot(to: sender)] }
            next[sender] = followerLast + 1
            return actions + sendAppend(to: sender)
        case .diverged:
            // The follower's store holds batches this leader's log does not: a deposed leader's.
            guard isLeader else { return actions }
            return actions + [.sendSnapshot(to: sender)]
        case .stale:
            return actions
        }
    }

    /// A follower's store holds everything it accepted (applied at once), so a batch it holds
    /// that the leader's log does not — a deposed leader's, never acknowledged — cannot be
    /// dropped from it: the follower answers `diverged` and gets a copy of the leader's store.
    private mutating func follow(previous: LogPosition, entries: [LogEntry], leaderCommitted: UInt64, leaderLast: UInt64,
                                 leader: String) -> [ReplicaAction] {
        var previous = previous, entries = entries
        if previous.index < last.index {
            // This replica holds entries past `previous`: they must be the leader's.
            if let same = entries.first(where: { $0.index == last.index }) {
                guard same.epoch == last.epoch else { return [.send(to: leader, .diverged(epoch: epoch))] }
                entries.removeAll { $0.index <= last.index }
                previous = last
            } else if last.epoch == epoch {
                // Written by this very leader: a message delivered late or twice.
                return [.send(to: leader, .ack(epoch: epoch, matched: last.index))] + learnCommitted(leaderCommitted)
            } else {
                // Let the leader check this replica's end against its own entry there.
                return [.send(to: leader, .mismatch(epoch: epoch, last: last.index))]
            }
        }
        // A gap: ask for what comes after this replica's end.
        if previous.index > last.index { return [.send(to: leader, .mismatch(epoch: epoch, last: last.index))] }
        guard previous == last else { return [.send(to: leader, .diverged(epoch: epoch))] }
        var actions: [ReplicaAction] = []
        if !entries.isEmpty {
            actions.append(.persist(keeping: last.index, entries: entries))
            log.append(contentsOf: entries)
            compact(through: last.index)
        }
        actions.append(.send(to: leader, .ack(epoch: epoch, matched: last.index)))
        return actions + learnCommitted(leaderCommitted)
    }

    private mutating func learnCommitted(_ leaderCommitted: UInt64) -> [ReplicaAction] {
        let known = min(leaderCommitted, last.index)
        guard known > committed else { return [] }
        committed = known
        return [.committed(upTo: known)]
    }
}
