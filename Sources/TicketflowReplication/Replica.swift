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
    /// Every replica of the partition, this one included.
    public let members: [String]
    public private(set) var epoch: Epoch = .none
    public private(set) var role: Role = .follower(leader: nil)
    /// The log as this replica holds it on disk.
    public private(set) var log: [LogEntry] = []
    /// How far entries are acknowledged (leader) or known to be (follower).
    public private(set) var committed: UInt64 = 0
    /// Leader: what each follower holds, and where to send from next.
    private var matched: [String: UInt64] = [:]
    private var next: [String: UInt64] = [:]

    /// Most entries sent in one append.
    public static let batchLimit = 64

    public init(me: String, members: [String], log: [LogEntry] = [], epoch: Epoch = .none, committed: UInt64 = 0) {
        precondition(members.contains(me), "a replica is one of the members")
        self.me = me; self.members = members; self.log = log; self.epoch = epoch; self.committed = committed
    }

    public var last: LogPosition { log.last.map { LogPosition(index: $0.index, epoch: $0.epoch) } ?? .start }
    public var isLeader: Bool { role == .leader }
    var majority: Int { members.count / 2 + 1 }
    var followers: [String] { members.filter { $0 != me } }

    func position(at index: UInt64) -> LogPosition? {
        if index == 0 { return .start }
        guard index <= UInt64(log.count) else { return nil }
        return LogPosition(index: index, epoch: log[Int(index - 1)].epoch)
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

    private func sendAppend(to follower: String) -> [ReplicaAction] {
        let from = next[follower] ?? last.index + 1
        guard let previous = position(at: from - 1) else { return [] }
        let upTo = min(last.index, from - 1 + UInt64(Self.batchLimit))
        let entries = from <= upTo ? Array(log[Int(from - 1)..<Int(upTo)]) : []
        return [.send(to: follower, .append(epoch: epoch, previous: previous, entries: entries, committed: committed, last: last.index))]
    }

    /// The highest index of this epoch held by a majority becomes acknowledged (with all before it).
    private mutating func advanceCommit() -> [ReplicaAction] {
        var candidate = last.index
        while candidate > committed {
            let holders = members.filter { (matched[$0] ?? 0) >= candidate }.count
            if holders >= majority, log[Int(candidate - 1)].epoch == epoch {
                committed = candidate
                return [.acknowledge(upTo: candidate)]
            }
            candidate -= 1
        }
        return []
    }

    // MARK: Receiving

    public mutating func receive(_ message: ReplicationMessage, from sender: String) -> [ReplicaAction] {
        guard members.contains(sender), sender != me else { return [] }
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
            matched = [:]; next = [:]
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
            next[sender] = max(1, min(next[sender] ?? 1, followerLast + 1))
            return actions + sendAppend(to: sender)
        case .stale:
            return actions
        }
    }

    private mutating func follow(previous: LogPosition, entries: [LogEntry], leaderCommitted: UInt64, leaderLast: UInt64,
                                 leader: String) -> [ReplicaAction] {
        guard position(at: previous.index) == previous else {
            // A gap or a different entry at `previous`: ask for what comes after an earlier one.
            let back = min(last.index, previous.index == 0 ? 0 : previous.index - 1)
            return [.send(to: leader, .mismatch(epoch: epoch, last: back))]
        }
        // What stays on disk as it is: everything up to `keeping`; after it, what is rewritten.
        let before = UInt64(log.count)
        var keeping = before
        for entry in entries {
            if let mine = position(at: entry.index) {
                guard mine.epoch != entry.epoch else { continue }   // already held
                // A conflicting tail: a deposed leader's batches that were never acknowledged.
                assert(entry.index > committed, "an acknowledged entry is never replaced")
                log.removeSubrange(Int(entry.index - 1)...)
                keeping = min(keeping, entry.index - 1)
            }
            log.append(entry)
        }
        // Beyond the leader's end, an entry of an older epoch is not in the leader's log (its
        // log grows only with entries of its own epoch): a deposed leader's tail, dropped.
        if let stale = log.firstIndex(where: { $0.index > leaderLast && $0.epoch < epoch }) {
            assert(log[stale].index > committed, "an acknowledged entry is never dropped")
            log.removeSubrange(stale...)
            keeping = min(keeping, UInt64(stale))
        }
        var actions: [ReplicaAction] = []
        if keeping != before || UInt64(log.count) > keeping {
            actions.append(.persist(keeping: keeping, entries: Array(log[Int(keeping)...])))
        }
        let matchedHere = previous.index + UInt64(entries.count)
        actions.append(.send(to: leader, .ack(epoch: epoch, matched: matchedHere)))
        let known = min(leaderCommitted, matchedHere)
        if known > committed {
            committed = known
            actions.append(.committed(upTo: known))
        }
        return actions
    }
}
