import Foundation
import TicketflowCore

/// A commit batch as it travels on a partition's replication stream: a follower writes
/// exactly what its leader wrote. The events and snapshots are in the journal's binary form;
/// agents in the JSON the agent table keeps.
extension CommitBatch {
    /// Bigger batches than this are refused on the way in (a group commit holds at most a few
    /// thousand events; a frame is at most 4 MiB).
    public static let wireLimit = 64 << 20

    public func wireBytes() throws -> [UInt8] {
        var w = BinaryWriter(capacity: 512)
        w.byte(binaryFormat)
        w.varint(UInt64(events.count))
        for e in events { w.event(e) }
        w.map(tickets) { w, t in w.ticket(t) }
        w.map(ticketNumbers) { w, n in w.int(n.value) }
        w.map(idempotencyKeys) { w, k in w.string(k.ticket); w.optional(k.request) { $0.string($1) } }
        w.varint(UInt64(commandKeys.count))
        for (key, request) in commandKeys.sorted(by: { ($0.key.ticket, $0.key.key) < ($1.key.ticket, $1.key.key) }) {
            w.string(key.ticket); w.string(key.key); w.string(request)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let agentBodies = try agents.mapValues { String(decoding: try encoder.encode($0), as: UTF8.self) }
        w.map(agentBodies) { w, body in w.string(body) }
        w.optional(workflow) { w, a in
            w.string(a.label); w.string(a.source); w.string(a.origin.stored); w.int(a.at.millis)
        }
        // Last, and only when there are any: a batch without marks reads as before they existed.
        if !outboxMarks.isEmpty {
            w.varint(UInt64(outboxMarks.count))
            for mark in outboxMarks {
                switch mark {
                case let .delivered(id, at): w.byte(0); w.string(id); w.int(at.millis)
                case let .failed(id, error, retryAt): w.byte(1); w.string(id); w.string(error); w.int(retryAt.millis)
                }
            }
        }
        return w.bytes
    }

    public init(wireBytes bytes: [UInt8]) throws {
        guard bytes.count <= Self.wireLimit else { throw BinaryReader.Malformed(description: "a batch of \(bytes.count) bytes") }
        self.init()
        let decoder = JSONDecoder()
        self = try bytes.withUnsafeBytes { raw in
            var r = BinaryReader(raw)
            let format = try r.byte()
            guard format == binaryFormat else { throw BinaryReader.Malformed(description: "unknown format \(format)") }
            var batch = CommitBatch()
            let eventCount = try r.count()
            batch.events.reserveCapacity(eventCount)
            for _ in 0..<eventCount { batch.events.append(try r.event()) }
            batch.tickets = try r.map { try $0.ticket() }
            batch.ticketNumbers = try r.map { r in
                let n = try r.int64()
                guard n >= 0 else { throw BinaryReader.Malformed(description: "negative ticket number") }
                return TicketNumber(n)
            }
            batch.idempotencyKeys = try r.map { r in KeyedCreate(ticket: try r.string(), request: try r.optional { try $0.string() }) }
            for _ in 0..<(try r.count()) {
                let key = CommandKey(ticket: try r.string(), key: try r.string())
                batch.commandKeys[key] = try r.string()
            }
            batch.agents = try r.map { r in try decoder.decode(Agent.self, from: Data(try r.string().utf8)) }
            batch.workflow = try r.optional { r in
                WorkflowActivation(label: try r.string(), source: try r.string(), origin: WorkflowOrigin(stored: try r.string()),
                                   at: Instant(millis: try r.int64()))
            }
            if !r.isAtEnd {
                for _ in 0..<(try r.count()) {
                    switch try r.byte() {
                    case 0: batch.outboxMarks.append(.delivered(id: try r.string(), at: Instant(millis: try r.int64())))
                    case 1: batch.outboxMarks.append(.failed(id: try r.string(), error: try r.string(), retryAt: Instant(millis: try r.int64())))
                    case let kind: throw BinaryReader.Malformed(description: "unknown outbox mark \(kind)")
                    }
                }
            }
            guard r.isAtEnd else { throw BinaryReader.Malformed(description: "trailing bytes after a batch") }
            return batch
        }
    }
}
