/// A leader's term for a partition: the revision of its leader key in etcd, which only grows
/// (docs/replication.md). Every message carries it; anything from an older epoch is refused.
public struct Epoch: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public static func < (a: Epoch, b: Epoch) -> Bool { a.value < b.value }
    public var description: String { "epoch \(value)" }
    /// Before any leader.
    public static let none = Epoch(0)
}

/// One committed batch of a partition's journal, at its place in the partition's log.
public struct LogEntry: Hashable, Sendable {
    /// 1-based, without gaps.
    public var index: UInt64
    /// The epoch of the leader that wrote it.
    public var epoch: Epoch
    /// The batch, as the journal stores it (opaque here).
    public var payload: [UInt8]
    public init(index: UInt64, epoch: Epoch, payload: [UInt8]) { self.index = index; self.epoch = epoch; self.payload = payload }
}

/// A place in a partition's log: an entry's index and the epoch that wrote it (index 0,
/// epoch none: before the first entry).
public struct LogPosition: Hashable, Sendable, CustomStringConvertible {
    public var index: UInt64
    public var epoch: Epoch
    public init(index: UInt64, epoch: Epoch) { self.index = index; self.epoch = epoch }
    public static let start = LogPosition(index: 0, epoch: .none)
    public var description: String { "\(index)@\(epoch.value)" }
}

/// What travels on a partition's replication stream. Every message carries its sender's
/// epoch; a replica refuses what comes from an older one.
public enum ReplicationMessage: Hashable, Sendable {
    /// Leader → follower: entries following `previous`, how far the leader has acknowledged,
    /// and where its log ends (`last`): a follower drops any entry of an older epoch beyond
    /// it — a deposed leader's batches the new leader does not have.
    case append(epoch: Epoch, previous: LogPosition, entries: [LogEntry], committed: UInt64, last: UInt64)
    /// Follower → leader: it holds, on disk, the leader's log up to `matched`.
    case ack(epoch: Epoch, matched: UInt64)
    /// Follower → leader: the entries did not follow what it holds; the leader should send
    /// again from after `last`, where it checks the follower's end against its own entry.
    case mismatch(epoch: Epoch, last: UInt64)
    /// Anyone → an older leader: a newer epoch exists; stop.
    case stale(epoch: Epoch)
    /// Follower → leader: its store holds a batch the leader's log does not (a deposed
    /// leader's, never acknowledged), which it cannot drop: it needs a copy of the leader's store.
    case diverged(epoch: Epoch)

    public var epoch: Epoch {
        switch self {
        case .append(let e, _, _, _, _), .ack(let e, _), .mismatch(let e, _), .stale(let e), .diverged(let e): return e
        }
    }
}

/// What a replica asks its shell to do, in this order: persisting before anything that
/// depends on it (an `ack` is sent only after the `persist` before it is on disk).
public enum ReplicaAction: Hashable, Sendable {
    /// Write `entries` after `keeping`, the store's end (a follower never drops what it holds:
    /// a store that must lose batches is replaced by a copy of the leader's, `sendSnapshot`).
    case persist(keeping: UInt64, entries: [LogEntry])
    case send(to: String, ReplicationMessage)
    /// Leader: the batches up to this index are on a majority: answer their clients.
    case acknowledge(upTo: UInt64)
    /// Follower: the leader acknowledged up to this index: apply (fire no timers, serve reads).
    case committed(upTo: UInt64)
    /// A newer epoch was seen: stop leading — no more acknowledgements, no timers fired.
    case stepDown(newer: Epoch)
    /// Leader: the follower needs entries no longer in memory, or holds batches this log does
    /// not: send it a copy of the store (the follower then calls `installed(snapshot:from:)`).
    case sendSnapshot(to: String)
}

/// A change of a partition's replicas under way: the set before, the set after, and what was
/// acknowledged when it began (a node it adds must hold that much before it counts).
public struct MembershipChange: Hashable, Sendable {
    public var old: [String]
    public var new: [String]
    public var from: UInt64
}
