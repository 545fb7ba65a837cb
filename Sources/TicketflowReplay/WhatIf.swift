import Foundation
import TicketflowCore
import TicketflowRuntime
import TicketflowStorage

/// What a candidate workflow would have done with real history: the commands a node recorded
/// (`RecordedCommands`) are fed, in their order and at their instants, through the recorded
/// workflow and through the candidate, each on a virtual clock, and the two outcomes compared.
/// Both sides are replays — the same commands, the same clock — so every difference is the
/// workflows' doing. Routing to agents is not replayed (presence is not journaled): the
/// comparison is of queues and lines, SLA clocks, escalations and notifications.
public enum WhatIf {
    public struct Options: Sendable {
        public var from: Instant?
        public var to: Instant?
        public init(from: Instant? = nil, to: Instant? = nil) { self.from = from; self.to = to }
    }

    /// Reads the recorded commands of tickets created in the window, replays them through both
    /// workflows and compares. `progress` hears how many tickets were read, then which side runs.
    public static func run(store: Store, recorded baseline: Workflow, candidate: Workflow, options: Options = Options(),
                           progress: (String) -> Void = { _ in }) throws -> WhatIfReport {
        var commands: [RecordedCommands.Recorded] = []
        var tickets = 0
        let lines = baseline.lines.map(\.name)
        try store.forEachJournal { _, _, events in
            guard let created = events.first, case .created = created.change else { return }
            if let from = options.from, created.at < from { return }
            if let to = options.to, created.at >= to { return }
            tickets += 1
            if tickets % 100_000 == 0 { progress("read \(tickets) tickets") }
            commands += RecordedCommands.read(events, lines: lines).filter { recorded in options.to.map { recorded.at < $0 } ?? true }
        }
        // Journal order within a ticket, time order across them (a stable sort keeps the first).
        let ordered = commands.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        let end = options.to ?? ordered.last.map { $0.at + .days(1) }
        progress("replaying \(ordered.count) commands through \(baseline.label)")
        let before = Outcome.replay(ordered, workflow: baseline, until: end)
        progress("replaying \(ordered.count) commands through \(candidate.label)")
        let after = Outcome.replay(ordered, workflow: candidate, until: end)
        return WhatIfReport(baseline: before, candidate: after, tickets: tickets, commands: ordered.count,
                            from: options.from?.description, to: options.to?.description)
    }

    /// What one workflow made of the commands.
    struct Outcome {
        var label = ""
        var rejected = 0
        var escalations: [String: Int] = [:]
        var notifications: [String: Int] = [:]
        /// Per clock key: met, breached, still running at the end.
        var clocks: [String: (met: Int, breached: Int, running: Int)] = [:]
        var tickets: [String: TicketOutcome] = [:]

        static func replay(_ commands: [RecordedCommands.Recorded], workflow: Workflow, until end: Instant?) -> Outcome {
            var outcome = Outcome(label: workflow.label)
            guard let first = commands.first else { return outcome }
            var node = VirtualNode(workflow: workflow, start: first.at, keepsHistory: false)
            func observe(_ events: [Event]) {
                for event in events {
                    switch event.change {
                    case let .lineChanged(from, to, _) where to > from:
                        outcome.escalations[workflow.lines.indices.contains(to) ? workflow.lines[to].name : String(to), default: 0] += 1
                    case .notified(let n):
                        outcome.notifications[n.template, default: 0] += 1
                        outcome.tickets[event.ticket, default: TicketOutcome()].notifications += 1
                    default: break
                    }
                }
            }
            for recorded in commands {
                if recorded.at > node.now { observe(node.advance(to: recorded.at)) }
                switch node.execute(recorded.command) {
                case .success(let events): observe(events)
                case .failure: outcome.rejected += 1
                }
            }
            if let end, end > node.now { observe(node.advance(to: end)) }
            for (id, ticket) in node.center.tickets {
                var t = outcome.tickets[id, default: TicketOutcome()]
                t.status = ticket.status
                t.line = workflow.lines.indices.contains(ticket.line) ? workflow.lines[ticket.line].name : String(ticket.line)
                t.queue = ticket.queue
                for (key, clock) in ticket.slaClocks {
                    var counts = outcome.clocks[key, default: (0, 0, 0)]
                    if clock.isBreached { counts.breached += 1; t.breached.insert(key) } else if clock.fulfilledAt != nil { counts.met += 1 } else { counts.running += 1 }
                    outcome.clocks[key] = counts
                }
                outcome.tickets[id] = t
            }
            return outcome
        }
    }

    struct TicketOutcome: Equatable {
        var status = ""
        var line = ""
        var queue = ""
        var breached: Set<String> = []
        var notifications = 0
    }
}
