import Foundation
import TicketflowCore

/// A ticket as a restart puts it back without decoding its snapshot: what routing and the
/// timer queue need (see `Store.recoverTickets`).
public struct RestartTicket: Sendable {
    public var id: String
    public var status: String
    public var queue: String
    public var assignee: String?
    public var priority: Priority
    public var skills: [String]
    public var timers: [(id: String, due: Instant)]
    public var version: Int

    /// The ticket's routing fact under a workflow's solved statuses.
    public func routingFact(solved: Set<String>) -> RoutingFact {
        RoutingFact(ticket: id, queue: queue, priority: priority, requiredSkills: skills, assignee: assignee,
                    isOpen: !solved.contains(status), version: version)
    }
}

/// The two columns of the ticket table written beside each snapshot for restarts, in the
/// snapshot's binary form: required skills (a list of strings) and pending timers (id and due
/// of each, in id order). Both are NULL when empty.
enum RestartColumns {
    static func skills(_ ticket: Ticket) -> Data? {
        guard !ticket.requiredSkills.isEmpty else { return nil }
        var w = BinaryWriter(capacity: 16 * ticket.requiredSkills.count)
        w.strings(ticket.requiredSkills)
        return w.data
    }

    static func skills(_ column: Data?) throws -> [String] {
        guard let column else { return [] }
        return try column.withUnsafeBytes { bytes in
            var r = BinaryReader(bytes)
            let skills = try r.strings()
            guard r.isAtEnd else { throw BinaryReader.Malformed(description: "trailing bytes after the skills column") }
            return skills
        }
    }

    static func timers(_ ticket: Ticket) -> Data? {
        guard !ticket.timers.isEmpty else { return nil }
        var w = BinaryWriter(capacity: 32 * ticket.timers.count)
        w.map(ticket.timers) { $0.instant($1.due) }
        return w.data
    }

    static func timers(_ column: Data?) throws -> [(id: String, due: Instant)] {
        guard let column else { return [] }
        return try column.withUnsafeBytes { bytes in
            var r = BinaryReader(bytes)
            let n = try r.count()
            var out: [(id: String, due: Instant)] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append((try r.string(), try r.instant())) }
            guard r.isAtEnd else { throw BinaryReader.Malformed(description: "trailing bytes after the timers column") }
            return out
        }
    }
}
