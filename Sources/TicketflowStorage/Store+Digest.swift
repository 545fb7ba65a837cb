import Foundation
import GRDB
import TicketflowCore

/// What a partition's replicas must agree on, in a few numbers: checked by the replication
/// tests and `ticketflow cluster digest`, after the replicas have caught up.
public struct StateDigest: Sendable, Equatable, CustomStringConvertible {
    /// Where the store stands in its partition's log.
    public var position: LogMark
    public var tickets: Int
    public var events: Int
    /// Notifications in the outbox, and how many of them are marked delivered.
    public var notifications: Int
    public var delivered: Int
    /// A stable hash of every ticket's id, version and snapshot, of every event, in order, and
    /// of every notification's delivery state.
    public var hash: UInt64
    /// (ticket, SLA clock) pairs whose breach is in the journal more than once.
    public var repeatedBreaches: [String]

    public var description: String {
        "\(position) tickets \(tickets) events \(events) notifications \(notifications) (\(delivered) delivered) hash \(String(hash, radix: 16))"
            + (repeatedBreaches.isEmpty ? "" : " breached twice: \(repeatedBreaches.joined(separator: ", "))")
    }
}

extension Store {
    public func stateDigest() throws -> StateDigest {
        try pool.read { db in
            var hash = StableHash.offset
            var tickets = 0, events = 0
            let ticketRows = try Row.fetchCursor(db, sql: "SELECT id, version, body FROM ticket ORDER BY id")
            while let row = try ticketRows.next() {
                tickets += 1
                hash = StableHash.fold(hash, row["id"] as String)
                hash = StableHash.fold(hash, String(row["version"] as Int64))
                hash = StableHash.fold(StableHash.fold(hash, bytes: [UInt8](row["body"] as Data)), bytes: [0xff])
            }
            var breaches: [String: Int] = [:]
            let eventRows = try Row.fetchCursor(db, sql: "SELECT ticket, version, body FROM event ORDER BY ticket, version")
            while let row = try eventRows.next() {
                events += 1
                let body = row["body"] as Data
                hash = StableHash.fold(hash, bytes: [UInt8](body))
                if case .slaBreached(let key) = try Blob.event(body).change { breaches["\(row["ticket"] as String)/\(key)", default: 0] += 1 }
            }
            var notifications = 0, delivered = 0
            let outboxRows = try Row.fetchCursor(db, sql: "SELECT id, delivered, attempts, next_attempt, last_error FROM outbox ORDER BY id")
            while let row = try outboxRows.next() {
                notifications += 1
                let at = row["delivered"] as Int64?
                if at != nil { delivered += 1 }
                hash = StableHash.fold(hash, "\(row["id"] as String)|\(at ?? -1)|\(row["attempts"] as Int64)|\(row["next_attempt"] as Int64)|\(row["last_error"] as String? ?? "")")
            }
            let position = try Row.fetchOne(db, sql: "SELECT idx, epoch FROM log_position WHERE id = 1")
                .map { LogMark(index: UInt64($0["idx"] as Int64), epoch: UInt64($0["epoch"] as Int64)) } ?? LogMark(index: 0, epoch: 0)
            return StateDigest(position: position, tickets: tickets, events: events, notifications: notifications, delivered: delivered, hash: hash,
                               repeatedBreaches: breaches.filter { $0.value > 1 }.keys.sorted())
        }
    }
}
