import TicketflowServer
import TicketflowCluster
import TicketflowCore

/// Routing facts travelling to the routing owner, or back from a node it learns afresh.
struct RoutingFacts: Equatable, Sendable, WireCodable {
    /// Most facts in one message: a fact is tens of bytes, far below the 4 MiB frame limit.
    static let pageLimit = 5000

    var facts: [RoutingFact]
    /// In a page of a node's open tickets: the ticket number to ask after for the next page;
    /// nil on the last page (and when facts are sent as they happen).
    var next: Int64?

    init(_ facts: [RoutingFact], next: Int64? = nil) { self.facts = facts; self.next = next }

    func encode(to w: inout WireWriter) {
        w.uint(next.map { UInt64(max(0, $0)) + 1 } ?? 0)
        w.uint(UInt64(facts.count))
        for f in facts {
            w.string(f.ticket)
            w.string(f.queue)
            w.uint(UInt64(f.priority.rank))
            w.uint(UInt64(f.requiredSkills.count))
            for skill in f.requiredSkills { w.string(skill) }
            w.string(f.assignee ?? "")
            w.uint(f.isOpen ? 1 : 0)
            w.uint(UInt64(max(0, f.version)))
        }
    }

    init(wire r: inout WireReader) throws(Envelope.Malformed) {
        let page = try r.uint()
        guard page <= UInt64(Int64.max) else { throw Envelope.Malformed(reason: "page cursor out of range") }
        next = page == 0 ? nil : Int64(page - 1)
        let count = try r.uint()
        guard count <= UInt64(Self.pageLimit) else { throw Envelope.Malformed(reason: "\(count) routing facts in one message") }
        facts = []
        for _ in 0..<count {
            let ticket = try r.string(), queue = try r.string()
            let rank = try r.uint()
            guard rank < UInt64(Priority.allCases.count) else { throw Envelope.Malformed(reason: "priority rank \(rank)") }
            let skillCount = try r.uint()
            guard skillCount <= 64 else { throw Envelope.Malformed(reason: "\(skillCount) skills") }
            var skills: [String] = []
            for _ in 0..<skillCount { skills.append(try r.string()) }
            let assignee = try r.string()
            let open = try r.uint() == 1
            let version = try r.uint()
            guard version <= UInt64(Int.max) else { throw Envelope.Malformed(reason: "version out of range") }
            facts.append(RoutingFact(ticket: ticket, queue: queue, priority: Priority.allCases[Int(rank)], requiredSkills: skills,
                                     assignee: assignee.isEmpty ? nil : assignee, isOpen: open, version: Int(version)))
        }
    }
}

/// An assignment the routing owner asks a ticket's owner to decide.
struct RoutingProposal: Equatable, Sendable, WireCodable {
    var ticket: String
    var agent: String
    var cause: Cause

    init(_ proposal: RoutingTable.Proposal) {
        ticket = proposal.ticket; agent = proposal.agent; cause = proposal.cause
    }

    func encode(to w: inout WireWriter) {
        w.string(ticket)
        w.string(agent)
        w.string(cause.kind.rawValue)
        w.string(cause.name)
    }

    init(wire r: inout WireReader) throws(Envelope.Malformed) {
        ticket = try r.string()
        agent = try r.string()
        guard let kind = Cause.Kind(rawValue: try r.string()) else { throw Envelope.Malformed(reason: "unknown cause kind") }
        cause = Cause(kind, try r.string())
    }
}
