import TicketflowCluster
import TicketflowReplication

/// Replication messages for one partition, as they cross the network in a call to a peer's
/// `ReplicaService`: a leader's append one way, the follower's answers the other.
struct ReplicationMessages: Sendable, WireCodable {
    var shard: String
    var messages: [ReplicationMessage]

    init(shard: String, _ messages: [ReplicationMessage]) { self.shard = shard; self.messages = messages }

    func encode(to w: inout WireWriter) {
        w.string(shard)
        w.uint(UInt64(messages.count))
        for m in messages {
            switch m {
            case let .append(epoch, previous, entries, committed, last):
                w.uint(0); w.uint(epoch.value); w.position(previous)
                w.uint(UInt64(entries.count))
                for e in entries { w.uint(e.index); w.uint(e.epoch.value); w.blob(e.payload) }
                w.uint(committed); w.uint(last)
            case let .ack(epoch, matched): w.uint(1); w.uint(epoch.value); w.uint(matched)
            case let .mismatch(epoch, last): w.uint(2); w.uint(epoch.value); w.uint(last)
            case let .stale(epoch): w.uint(3); w.uint(epoch.value)
            case let .diverged(epoch): w.uint(4); w.uint(epoch.value)
            }
        }
    }

    init(wire r: inout WireReader) throws(Envelope.Malformed) {
        shard = try r.string()
        let count = try r.uint()
        guard count <= 16 else { throw Envelope.Malformed(reason: "\(count) replication messages in one call") }
        messages = []
        for _ in 0..<count {
            let kind = try r.uint()
            let epoch = Epoch(try r.uint())
            switch kind {
            case 0:
                let previous = try r.position()
                let n = try r.uint()
                guard n <= UInt64(Replica.batchLimit) else { throw Envelope.Malformed(reason: "\(n) entries in one append") }
                var entries: [LogEntry] = []
                for _ in 0..<n { entries.append(LogEntry(index: try r.uint(), epoch: Epoch(try r.uint()), payload: try r.blob())) }
                messages.append(.append(epoch: epoch, previous: previous, entries: entries, committed: try r.uint(), last: try r.uint()))
            case 1: messages.append(.ack(epoch: epoch, matched: try r.uint()))
            case 2: messages.append(.mismatch(epoch: epoch, last: try r.uint()))
            case 3: messages.append(.stale(epoch: epoch))
            case 4: messages.append(.diverged(epoch: epoch))
            default: throw Envelope.Malformed(reason: "unknown replication message \(kind)")
            }
        }
    }
}

/// A piece of a copy of a leader's store, for a follower that lacks what the leader's log
/// still holds in memory, or holds what it never wrote. The last piece says where the copy
/// stands in the log.
struct SnapshotChunk: Sendable, WireCodable {
    /// Pieces are at most this big, well inside a frame.
    static let size = 1 << 20

    var shard: String
    var epoch: Epoch
    var offset: UInt64
    var bytes: [UInt8]
    /// On the last piece: the copy's position in the log.
    var end: LogPosition?

    init(shard: String, epoch: Epoch, offset: UInt64, bytes: [UInt8], end: LogPosition?) {
        self.shard = shard; self.epoch = epoch; self.offset = offset; self.bytes = bytes; self.end = end
    }

    func encode(to w: inout WireWriter) {
        w.string(shard); w.uint(epoch.value); w.uint(offset); w.blob(bytes)
        if let end { w.uint(1); w.position(end) } else { w.uint(0) }
    }

    init(wire r: inout WireReader) throws(Envelope.Malformed) {
        shard = try r.string(); epoch = Epoch(try r.uint()); offset = try r.uint(); bytes = try r.blob()
        guard bytes.count <= Self.size else { throw Envelope.Malformed(reason: "a snapshot piece of \(bytes.count) bytes") }
        end = try r.uint() == 1 ? try r.position() : nil
    }
}

/// A piece of a peer's seed export (users, tokens, sessions, workflows) for a node added to
/// the cluster, and the export's whole size.
struct SeedPiece: Sendable, WireCodable {
    var offset: UInt64
    var total: UInt64
    var bytes: [UInt8]

    init(offset: UInt64, total: UInt64, bytes: [UInt8]) { self.offset = offset; self.total = total; self.bytes = bytes }
    func encode(to w: inout WireWriter) { w.uint(offset); w.uint(total); w.blob(bytes) }
    init(wire r: inout WireReader) throws(Envelope.Malformed) {
        offset = try r.uint(); total = try r.uint(); bytes = try r.blob()
        guard bytes.count <= SnapshotChunk.size else { throw Envelope.Malformed(reason: "a seed piece of \(bytes.count) bytes") }
    }
}

/// Where a replica stands: its last entry (for elections and handovers).
struct ReplicaPosition: Sendable, WireCodable {
    var position: LogPosition
    func encode(to w: inout WireWriter) { w.position(position) }
    init(_ position: LogPosition) { self.position = position }
    init(wire r: inout WireReader) throws(Envelope.Malformed) { position = try r.position() }
}

extension WireWriter {
    mutating func position(_ p: LogPosition) { uint(p.index); uint(p.epoch.value) }
}

extension WireReader {
    mutating func position() throws(Envelope.Malformed) -> LogPosition { LogPosition(index: try uint(), epoch: Epoch(try uint())) }
}
