import Foundation
import TicketflowCore

/// What a simulation found. Encoded with sorted keys so equal runs print equal bytes.
public struct SimulationReport: Codable, Sendable, Equatable {
    public struct Compliance: Codable, Sendable, Equatable {
        public var met, breached, running: Int
        public var percentMet: Double
    }

    public struct Percentiles: Codable, Sendable, Equatable {
        public var count: Int
        public var medianMinutes, p90Minutes: Double
    }

    public var workflow: String
    public var days: Int
    public var seed: UInt64
    public var agents: Int
    public var ticketsCreated: Int
    public var ticketsSolved: Int
    public var events: Int
    public var slaCompliance: [String: Compliance]
    public var breaches: Int
    public var warnings: Int
    public var escalationsToLine: [String: Int]
    public var firstReply: Percentiles
    public var resolution: Percentiles
    public var backlogByLine: [String: Int]
    public var notifications: Int

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(data: try! encoder.encode(self), encoding: .utf8)!
    }

    public func text() -> String {
        var out = "simulated \(days) days of \(workflow) with \(agents) agents (seed \(seed))\n"
        out += "tickets: \(ticketsCreated) created, \(ticketsSolved) solved, \(events) events\n"
        out += "SLA compliance per clock:\n"
        for key in slaCompliance.keys.sorted() {
            let c = slaCompliance[key]!
            out += "  \(key.padding(toLength: 28, withPad: " ", startingAt: 0)) \(String(format: "%5.1f", c.percentMet))% met  (\(c.met) met, \(c.breached) breached, \(c.running) running)\n"
        }
        out += "breaches: \(breaches), warnings: \(warnings), notifications: \(notifications)\n"
        out += "escalations into line: " + escalationsToLine.keys.sorted().map { "\($0) \(escalationsToLine[$0]!)" }.joined(separator: ", ") + "\n"
        out += String(format: "first reply: median %.1f min, p90 %.1f min (%d tickets)\n", firstReply.medianMinutes, firstReply.p90Minutes, firstReply.count)
        out += String(format: "resolution:  median %.1f min, p90 %.1f min (%d tickets)\n", resolution.medianMinutes, resolution.p90Minutes, resolution.count)
        out += "backlog at end: " + backlogByLine.keys.sorted().map { "\($0) \(backlogByLine[$0]!)" }.joined(separator: ", ") + "\n"
        return out
    }
}

/// Accumulates figures from the event stream, so the simulation need not keep a journal.
struct ReportCollector {
    let workflow: Workflow
    var events = 0
    var breaches = 0
    var warnings = 0
    var notifications = 0
    var escalations: [String: Int] = [:]
    var firstReplyMinutes: [Double] = []
    var resolutionMinutes: [Double] = []
    var createdAt: [String: Instant] = [:]
    var created = 0
    var replied: Set<String> = []
    var resolved: Set<String> = []
    /// Figures of tickets the simulation dropped from memory once they could no longer change.
    var retiredSolved = 0
    var retiredCompliance: [String: SimulationReport.Compliance] = [:]

    /// Counts a finished ticket before the simulation forgets it.
    mutating func retire(_ ticket: Ticket?, workflow: Workflow) {
        guard let ticket else { return }
        retiredSolved += 1
        for (key, clock) in ticket.slaClocks { tally(clock, key: key, into: &retiredCompliance) }
        createdAt[ticket.id] = nil
        replied.remove(ticket.id)
        resolved.remove(ticket.id)
    }

    func tally(_ clock: SLAClock, key: String, into compliance: inout [String: SimulationReport.Compliance]) {
        if clock.metric == .nextReply && clock.isStopped && clock.fulfilledAt == nil && !clock.isBreached { return }
        var c = compliance[key] ?? .init(met: 0, breached: 0, running: 0, percentMet: 0)
        if clock.isBreached { c.breached += 1 } else if clock.isStopped { c.met += 1 } else { c.running += 1 }
        compliance[key] = c
    }

    init(workflow: Workflow) { self.workflow = workflow }

    mutating func observe(_ batch: [Event]) {
        events += batch.count
        for event in batch {
            switch event.change {
            case .created(let t): createdAt[t.id] = t.createdAt; created += 1
            case .commented(let c) where c.author == .agent && c.isPublic:
                if replied.insert(event.ticket).inserted, let start = createdAt[event.ticket] {
                    firstReplyMinutes.append(Double((event.at - start).millis) / 60_000)
                }
            case let .statusChanged(_, to) where workflow.solvedStatuses.contains(to):
                if resolved.insert(event.ticket).inserted, let start = createdAt[event.ticket] {
                    resolutionMinutes.append(Double((event.at - start).millis) / 60_000)
                }
            case let .lineChanged(from, to, _) where to > from:
                escalations[workflow.lines[to].name, default: 0] += 1
            case .slaBreached: breaches += 1
            case .slaWarned: warnings += 1
            case .notified: notifications += 1
            default: break
            }
        }
    }

    static func percentiles(_ values: [Double]) -> SimulationReport.Percentiles {
        guard !values.isEmpty else { return .init(count: 0, medianMinutes: 0, p90Minutes: 0) }
        let sorted = values.sorted()
        func at(_ q: Double) -> Double { (sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * q))] * 10).rounded() / 10 }
        return .init(count: sorted.count, medianMinutes: at(0.5), p90Minutes: at(0.9))
    }

    func report(center: SupportCenter, options: Simulator.Options, end: Instant, happenings: Int) -> SimulationReport {
        var compliance = retiredCompliance
        var backlog: [String: Int] = Dictionary(uniqueKeysWithValues: workflow.lines.map { ($0.name, 0) })
        var solved = retiredSolved
        for id in center.tickets.keys.sorted() {
            let ticket = center.tickets[id]!
            if ticket.isSolved(in: workflow) { solved += 1 } else { backlog[workflow.lines[ticket.line].name, default: 0] += 1 }
            for (key, clock) in ticket.slaClocks { tally(clock, key: key, into: &compliance) }
        }
        for key in compliance.keys {
            let c = compliance[key]!
            let decided = c.met + c.breached
            compliance[key]!.percentMet = decided == 0 ? 100 : (Double(c.met) * 1000 / Double(decided)).rounded() / 10
        }
        return SimulationReport(workflow: workflow.label, days: options.days, seed: options.seed, agents: options.agents,
                                ticketsCreated: created, ticketsSolved: solved, events: events, slaCompliance: compliance,
                                breaches: breaches, warnings: warnings, escalationsToLine: escalations,
                                firstReply: ReportCollector.percentiles(firstReplyMinutes),
                                resolution: ReportCollector.percentiles(resolutionMinutes), backlogByLine: backlog,
                                notifications: notifications)
    }
}
