import Foundation
import TicketflowCore
import TicketflowStorage

/// `ticketflow replay --data DIR [--ticket ID]`: rebuilds every ticket from its journal alone
/// (the fold `Ticket.apply` that a restart trusts) and compares it with the stored snapshot;
/// checks too that every event names a workflow version the node recorded. Any difference
/// is a finding: the snapshot and the journal must tell the same story.
public enum JournalCheck {
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public var ticket: String
        public var problem: String
        public var description: String { "ticket \(ticket): \(problem)" }
    }

    public struct Report: Sendable {
        public var tickets = 0
        public var events = 0
        public var findings: [Finding] = []
        /// Findings past the first 1,000 are counted, not kept.
        public var moreFindings = 0
        public var seconds = 0.0

        public var summary: String {
            let rate = seconds > 0 ? String(format: ", %.0f tickets/s", Double(tickets) / seconds) : ""
            let found = findings.count + moreFindings
            return "replayed \(tickets) tickets (\(events) events) in \(String(format: "%.1f", seconds)) s\(rate): "
                + (found == 0 ? "every snapshot matches its journal" : "\(found) difference\(found == 1 ? "" : "s")")
        }
    }

    /// Checks one ticket or all of them; `progress` is called every 100,000 tickets.
    public static func run(store: Store, ticket: String? = nil, progress: (Int) -> Void = { _ in }) throws -> Report {
        let started = Date()
        let versions = Set(try store.workflowActivations().map(\.label))
        var report = Report()
        func found(_ ticket: String, _ problem: String) {
            if report.findings.count < 1000 { report.findings.append(Finding(ticket: ticket, problem: problem)) } else { report.moreFindings += 1 }
        }
        try store.forEachJournal(ticket: ticket) { id, snapshot, events in
            report.tickets += 1
            report.events += events.count
            if report.tickets % 100_000 == 0 { progress(report.tickets) }
            for label in Set(events.map(\.workflowVersion)) where !versions.contains(label) {
                found(id, "events name workflow \(label), which this data directory never recorded")
            }
            guard let rebuilt = fold(events) else {
                found(id, events.isEmpty ? "a snapshot without any journal" : "the journal does not begin with the ticket's creation")
                return
            }
            guard let snapshot else { found(id, "a journal of \(events.count) events without a snapshot"); return }
            if rebuilt != snapshot { found(id, "the journal rebuilds another ticket than the snapshot: " + differences(rebuilt, snapshot)) }
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// The ticket a journal builds, or nil if it does not start with the creation.
    public static func fold(_ events: [Event]) -> Ticket? {
        guard let first = events.first, case .created(var ticket) = first.change else { return nil }
        for event in events { ticket.apply(event) }
        return ticket
    }

    /// Which of the ticket's properties differ, with both values (the journal's first).
    static func differences(_ rebuilt: Ticket, _ snapshot: Ticket) -> String {
        let a = Mirror(reflecting: rebuilt).children, b = Mirror(reflecting: snapshot).children
        return zip(a, b).compactMap { x, y -> String? in
            let left = String(describing: x.value), right = String(describing: y.value)
            return left == right ? nil : "\(x.label ?? "?"): journal \(left.prefix(200)), snapshot \(right.prefix(200))"
        }.joined(separator: "; ")
    }
}
