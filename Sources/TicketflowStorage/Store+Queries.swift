import Foundation
import GRDB
import TicketflowCore

/// A filter for listing tickets; every field is optional.
public struct TicketFilter: Sendable {
    /// Only the tickets of this requester (e-mail address, any case).
    public var requesterEmail: String?
    public var status: String?
    public var line: Int?
    public var queue: String?
    public var assignee: String?
    public var priority: Priority?
    public var sla: SLAState?
    public var riskWindow: TimeSpan = .hours(1)
    public var limit: Int = 50
    /// Tickets after this number (keyset paging: stable while tickets are added).
    public var after: Int64 = 0

    public init() {}

    public enum SLAState: String, Sendable {
        /// A running SLA clock due within `riskWindow`.
        case atRisk = "at_risk"
        /// A breached clock on a ticket still open.
        case breached
    }
}

/// A notification waiting for delivery.
public struct OutboxItem: Sendable, Equatable {
    public var id: String
    public var ticket: String
    public var recipient: String
    public var template: String
    public var body: String
    public var attempts: Int
}

extension Store {
    /// Lists ticket snapshots matching a filter, oldest first, at most `limit`.
    /// Returns the tickets and their numbers (the last number is the next page's `after`).
    public func tickets(matching f: TicketFilter, now: Instant) throws -> [(number: Int64, ticket: Ticket)] {
        var clauses = ["number > ?"]
        var args: [(any DatabaseValueConvertible)?] = [f.after]
        if let v = f.requesterEmail { clauses.append("requester = ?"); args.append(v.lowercased()) }
        if let v = f.status { clauses.append("status = ?"); args.append(v) }
        if let v = f.line { clauses.append("line = ?"); args.append(String(v)) }
        if let v = f.queue { clauses.append("queue = ?"); args.append(v) }
        if let v = f.assignee { clauses.append("assignee = ?"); args.append(v) }
        if let v = f.priority { clauses.append("priority = ?"); args.append(v.rawValue) }
        switch f.sla {
        case .atRisk: clauses.append("sla_due IS NOT NULL AND sla_due <= ?"); args.append((now + f.riskWindow).millis)
        case .breached: clauses.append("sla_breached = 1")
        case nil: break
        }
        let sql = "SELECT number, body FROM ticket WHERE \(clauses.joined(separator: " AND ")) ORDER BY number LIMIT ?"
        args.append(f.limit)
        let arguments = StatementArguments(args)
        return try pool.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
                let data: Data = row["body"]
                return (row["number"], try Blob.ticket(data))
            }
        }
    }

    /// Snapshots of tickets assigned to an agent and not solved, by number.
    public func tickets(assignedTo agent: String, solved: Set<String>) throws -> [Ticket] {
        let marks = Array(repeating: "?", count: solved.count).joined(separator: ", ")
        let open = solved.isEmpty ? "" : "AND status NOT IN (\(marks))"
        let arguments = StatementArguments([agent] + solved.sorted())
        return try pool.read { db in
            try Data.fetchAll(db, sql: "SELECT body FROM ticket WHERE assignee = ? \(open) ORDER BY number", arguments: arguments)
                .map(Blob.ticket)
        }
    }

    /// Snapshots of the tickets with these ids (those that exist), by id.
    public func tickets(ids: [String]) throws -> [String: Ticket] {
        guard !ids.isEmpty else { return [:] }
        return try pool.read { db in
            var found: [String: Ticket] = [:]
            for start in stride(from: 0, to: ids.count, by: 500) {
                let some = Array(ids[start..<min(start + 500, ids.count)])
                let marks = Array(repeating: "?", count: some.count).joined(separator: ", ")
                for data in try Data.fetchAll(db, sql: "SELECT body FROM ticket WHERE id IN (\(marks))", arguments: StatementArguments(some)) {
                    let ticket = try Blob.ticket(data)
                    found[ticket.id] = ticket
                }
            }
            return found
        }
    }

    /// Routing facts of stored open tickets numbered after `after`, at most `limit`, by number.
    public func openRoutingFacts(after: Int64, limit: Int, solved: Set<String>) throws -> [(number: Int64, fact: RoutingFact)] {
        let marks = Array(repeating: "?", count: solved.count).joined(separator: ", ")
        let open = solved.isEmpty ? "" : "AND status NOT IN (\(marks))"
        var args: [(any DatabaseValueConvertible)?] = [after]
        args += solved.sorted().map { $0 }
        args.append(limit)
        let arguments = StatementArguments(args)
        return try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, number, queue, assignee, priority, skills, version FROM ticket
                WHERE number > ? \(open) ORDER BY number LIMIT ?
                """, arguments: arguments).map { row in
                guard let priority = Priority(rawValue: row["priority"]) else { throw StoreError.corrupt("ticket \(row["id"] as String): priority") }
                return (row["number"], RoutingFact(ticket: row["id"], queue: row["queue"], priority: priority,
                                                   requiredSkills: try RestartColumns.skills(row["skills"]), assignee: row["assignee"],
                                                   isOpen: true, version: row["version"]))
            }
        }
    }

    /// Ticket counts by status and by line, for metrics and the dashboard.
    public func ticketCounts() throws -> (byStatus: [String: Int], byLine: [String: Int]) {
        try pool.read { db in
            var status: [String: Int] = [:], line: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM ticket GROUP BY status") { status[row["status"]] = row["n"] }
            for row in try Row.fetchAll(db, sql: "SELECT line, COUNT(*) AS n FROM ticket GROUP BY line") { line[row["line"]] = row["n"] }
            return (status, line)
        }
    }

    /// Notifications due for a delivery attempt at `now`, oldest first.
    public func outboxDue(at now: Instant, limit: Int) throws -> [OutboxItem] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, ticket, recipient, template, body, attempts FROM outbox
                WHERE delivered IS NULL AND next_attempt <= ? ORDER BY created, id LIMIT ?
                """, arguments: [now.millis, limit]).map {
                OutboxItem(id: $0["id"], ticket: $0["ticket"], recipient: $0["recipient"], template: $0["template"],
                           body: $0["body"], attempts: $0["attempts"])
            }
        }
    }

    /// Counts of undelivered and delivered notifications.
    public func outboxCounts() throws -> (pending: Int, delivered: Int) {
        try pool.read { db in
            let pending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE delivered IS NULL") ?? 0
            let delivered = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE delivered IS NOT NULL") ?? 0
            return (pending, delivered)
        }
    }

}
