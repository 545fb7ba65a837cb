import TicketflowCore

/// The what-if comparison: totals on both sides and the tickets that came out differently.
/// Printed as text by `ticketflow replay --workflow`, or as JSON with `--json`.
public struct WhatIfReport: Codable, Sendable, Equatable {
    public struct Pair: Codable, Sendable, Equatable {
        public var recorded: Int
        public var candidate: Int
        public var change: Int { candidate - recorded }
        enum CodingKeys: String, CodingKey { case recorded, candidate }
    }

    public struct Clock: Codable, Sendable, Equatable {
        public var clock: String
        public var met, breached, running: Pair
    }

    public struct Named: Codable, Sendable, Equatable {
        public var name: String
        public var count: Pair
    }

    public struct ChangedTicket: Codable, Sendable, Equatable {
        public var ticket: String
        public var differences: [String]
    }

    public var recordedWorkflow: String
    public var candidateWorkflow: String
    public var from: String?
    public var to: String?
    public var tickets: Int
    public var commands: Int
    /// Commands a workflow refused (a transition it forbids, a line it lacks).
    public var rejected: Pair
    public var sla: [Clock]
    public var escalationsIntoLine: [Named]
    public var notifications: [Named]
    public var ticketsChanged: Int
    /// The first 1,000 changed tickets, by id.
    public var changed: [ChangedTicket]

    enum CodingKeys: String, CodingKey {
        case recordedWorkflow = "recorded_workflow", candidateWorkflow = "candidate_workflow", from, to, tickets, commands, rejected, sla
        case escalationsIntoLine = "escalations_into_line", notifications, ticketsChanged = "tickets_changed", changed
    }

    init(baseline a: WhatIf.Outcome, candidate b: WhatIf.Outcome, tickets: Int, commands: Int, from: String?, to: String?) {
        recordedWorkflow = a.label; candidateWorkflow = b.label
        self.from = from; self.to = to; self.tickets = tickets; self.commands = commands
        rejected = Pair(recorded: a.rejected, candidate: b.rejected)
        sla = Set(a.clocks.keys).union(b.clocks.keys).sorted().map { key in
            let x = a.clocks[key] ?? (0, 0, 0), y = b.clocks[key] ?? (0, 0, 0)
            return Clock(clock: key, met: Pair(recorded: x.met, candidate: y.met), breached: Pair(recorded: x.breached, candidate: y.breached),
                         running: Pair(recorded: x.running, candidate: y.running))
        }
        escalationsIntoLine = Set(a.escalations.keys).union(b.escalations.keys).sorted().map {
            Named(name: $0, count: Pair(recorded: a.escalations[$0] ?? 0, candidate: b.escalations[$0] ?? 0))
        }
        notifications = Set(a.notifications.keys).union(b.notifications.keys).sorted().map {
            Named(name: $0, count: Pair(recorded: a.notifications[$0] ?? 0, candidate: b.notifications[$0] ?? 0))
        }
        var changed: [ChangedTicket] = []
        var count = 0
        for id in Set(a.tickets.keys).union(b.tickets.keys).sorted(by: TicketNumber.listsFirst) {
            let x = a.tickets[id] ?? WhatIf.TicketOutcome(), y = b.tickets[id] ?? WhatIf.TicketOutcome()
            guard x != y else { continue }
            count += 1
            guard changed.count < 1000 else { continue }
            var differences: [String] = []
            if x.status != y.status { differences.append("status \(x.status) → \(y.status)") }
            if x.line != y.line { differences.append("line \(x.line) → \(y.line)") }
            if x.queue != y.queue { differences.append("queue \(x.queue) → \(y.queue)") }
            for key in y.breached.subtracting(x.breached).sorted() { differences.append("\(key) breached") }
            for key in x.breached.subtracting(y.breached).sorted() { differences.append("\(key) no longer breached") }
            if x.notifications != y.notifications { differences.append("notifications \(x.notifications) → \(y.notifications)") }
            changed.append(ChangedTicket(ticket: id, differences: differences))
        }
        ticketsChanged = count
        self.changed = changed
    }

    /// The report for people: totals, then the changed tickets (at most `limit`).
    public func text(limit: Int = 50) -> String {
        func pair(_ p: Pair) -> String { "\(p.recorded) → \(p.candidate) (\(p.change >= 0 ? "+" : "")\(p.change))" }
        var lines = ["what if \(candidateWorkflow) had decided instead of \(recordedWorkflow): \(tickets) tickets, \(commands) recorded commands"
                     + (from != nil || to != nil ? " (\(from ?? "start") to \(to ?? "end"))" : "")]
        lines.append("commands refused: \(pair(rejected))")
        lines.append("SLA clocks (met / breached / running):")
        for c in sla {
            let total = c.met.recorded + c.breached.recorded, totalB = c.met.candidate + c.breached.candidate
            let rate = { (met: Int, all: Int) in all == 0 ? "–" : String(format: "%.1f%%", 100 * Double(met) / Double(all)) }
            lines.append("  \(c.clock.padding(toLength: 30, withPad: " ", startingAt: 0)) met \(pair(c.met)), breached \(pair(c.breached)), running \(pair(c.running)); met \(rate(c.met.recorded, total)) → \(rate(c.met.candidate, totalB))")
        }
        lines.append("escalations into line: " + (escalationsIntoLine.isEmpty ? "none" : escalationsIntoLine.map { "\($0.name) \(pair($0.count))" }.joined(separator: ", ")))
        lines.append("notifications: " + (notifications.isEmpty ? "none" : notifications.map { "\($0.name) \(pair($0.count))" }.joined(separator: ", ")))
        lines.append("tickets that came out differently: \(ticketsChanged)")
        for t in changed.prefix(limit) { lines.append("  \(t.ticket): \(t.differences.joined(separator: "; "))") }
        if ticketsChanged > limit { lines.append("  … \(ticketsChanged - min(limit, changed.count)) more (--json lists up to 1,000)") }
        return lines.joined(separator: "\n")
    }
}
