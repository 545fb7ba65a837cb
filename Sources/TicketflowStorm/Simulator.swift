import Foundation
import TicketflowCore
import TicketflowRuntime

/// A whole support center on the virtual clock: Poisson arrivals with a daily curve,
/// agents on shifts working their tickets with random service times, requesters who
/// reply. Deterministic: the same options give the same report, byte for byte.
public struct Simulator {
    public struct Options: Sendable {
        public var days: Int
        public var ticketsPerDay: Int
        public var agents: Int
        public var seed: UInt64
        public var start: Instant
        /// Mean time an agent needs for one piece of work on a ticket.
        public var meanServiceMinutes: Double = 20
        /// Mean time a requester takes to answer a question.
        public var meanRequesterReplyHours: Double = 5

        public init(days: Int, ticketsPerDay: Int, agents: Int, seed: UInt64,
                    start: Instant = Instant(iso8601: "2027-01-04T00:00:00Z")!) {
            self.days = days; self.ticketsPerDay = ticketsPerDay; self.agents = agents; self.seed = seed; self.start = start
        }
    }

    /// Relative arrival rate per hour of day (UTC): quiet nights, busy office hours.
    static let dailyCurve: [Double] = [0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 1.0, 1.6, 2.0, 2.1, 2.0,
                                       1.8, 1.9, 2.0, 1.9, 1.7, 1.4, 1.1, 0.9, 0.7, 0.5, 0.4, 0.3]

    enum Happening: Comparable {
        case arrival
        case shift(agent: Int, online: Bool)
        case agentWork(ticket: String, agent: String)
        case requesterReply(ticket: String)

        static func < (a: Happening, b: Happening) -> Bool { a.order < b.order }
        var order: Int {
            switch self {
            case .shift: return 0
            case .arrival: return 1
            case .agentWork: return 2
            case .requesterReply: return 3
            }
        }
    }

    struct Scheduled: Comparable {
        var at: Instant
        var sequence: Int
        var what: Happening
        static func < (a: Scheduled, b: Scheduled) -> Bool { (a.at, a.sequence) < (b.at, b.sequence) }
    }

    let options: Options
    let workflow: Workflow

    public init(workflow: Workflow, options: Options) { self.workflow = workflow; self.options = options }

    /// Runs the simulation. `record`, when given, receives every accepted event in order with a
    /// way to read the ticket as it stands after them (`ticketflow simulate --record` writes
    /// them to a data directory as a node would); it does not change what is simulated.
    public func run(progress: ((Int, Int) -> Void)? = nil,
                    record: ((_ events: [Event], _ ticket: (String) -> Ticket?) -> Void)? = nil) -> SimulationReport {
        var rng = SplitMix64(seed: options.seed)
        var node = VirtualNode(workflow: workflow, start: options.start, keepsHistory: false)
        let end = options.start + .days(Int64(options.days))
        var queue = Heap<Scheduled>()
        var sequence = 0
        func schedule(_ at: Instant, _ what: Happening) {
            sequence += 1
            queue.insert(Scheduled(at: at, sequence: sequence, what: what))
        }
        var collector = ReportCollector(workflow: workflow)

        // Agents: about 75% first line, 20% second, 5% the lines above. Shifts of 8h follow the
        // arrival curve: two in five start at 08:00, one at 12:00, one at 16:00, one at 00:00.
        let lineShares = workflow.lines.count == 1 ? [1.0] : (workflow.lines.count == 2 ? [0.8, 0.2] : [0.75, 0.2] + Array(repeating: 0.05 / Double(workflow.lines.count - 2), count: workflow.lines.count - 2))
        let skillsPool = Array(Set(workflow.queues.values.filter { $0.routing == .skills }.map(\.name))).sorted().isEmpty ? [] : ["billing", "network", "hardware"]
        var agentIDs: [String] = []
        for i in 0..<options.agents {
            var lineIndex = 0
            var acc = 0.0
            let position = (Double(i) + 0.5) / Double(options.agents)
            for (index, share) in lineShares.enumerated() { acc += share; if position < acc { lineIndex = index; break } ; lineIndex = index }
            let id = String(format: "agent%03d", i + 1)
            agentIDs.append(id)
            node.upsert(Agent(id: id, name: id, line: workflow.lines[lineIndex].name, skills: skillsPool, capacity: 8, presence: .offline))
            let shiftStartHour = Int64([8, 16, 12, 0, 8][i % 5])
            var day: Int64 = 0
            while day < Int64(options.days) {
                let on = options.start + .days(day) + .hours(shiftStartHour)
                schedule(on, .shift(agent: i, online: true))
                schedule(on + .hours(8), .shift(agent: i, online: false))
                day += 1
            }
        }

        // Poisson arrivals by thinning against the busiest hour's rate.
        let curveMean = Simulator.dailyCurve.reduce(0, +) / 24
        let peakPerMinute = Double(options.ticketsPerDay) / 1440 * (Simulator.dailyCurve.max()! / curveMean)
        var nextArrival = options.start
        func scheduleNextArrival() {
            while true {
                nextArrival = nextArrival + TimeSpan(millis: Int64(rng.exponential(mean: 60_000 / peakPerMinute)))
                guard nextArrival < end else { return }
                let hour = Int((nextArrival.millis / 3_600_000) % 24)
                if rng.unit() < Simulator.dailyCurve[hour] / Simulator.dailyCurve.max()! { schedule(nextArrival, .arrival); return }
            }
        }
        scheduleNextArrival()

        var created = 0
        var processed = 0
        let organizations = ["acme", "globex", "initech", "umbrella", "hooli", "stark"]
        let channels = Channel.allCases
        let channelWeights = [0.45, 0.2, 0.15, 0.1, 0.05, 0.05]
        let priorityWeights = [0.2, 0.55, 0.18, 0.07]

        var finished: [String] = []
        // Tickets each agent holds, so a shift ends with a handover instead of a scan.
        var held: [String: Set<String>] = [:]
        var holder: [String: String] = [:]
        func handle(_ events: [Event], at now: Instant) {
            collector.observe(events)
            if let record, !events.isEmpty { record(events) { node.center.tickets[$0] } }
            for event in events {
                // A closed ticket with no timers left can never change again: drop it, so a
                // simulated year holds only the live part of the center in memory.
                if case .statusChanged = event.change, let t = node.center.tickets[event.ticket],
                   t.isSolved(in: workflow), t.timers.isEmpty, !workflow.statuses.contains(where: { workflow.allows(from: t.status, to: $0) && $0 != t.status }) {
                    finished.append(event.ticket)
                }
                guard case .assigned(let agent) = event.change else { continue }
                if let previous = holder[event.ticket] { held[previous]?.remove(event.ticket) }
                holder[event.ticket] = agent
                if let agent {
                    held[agent, default: []].insert(event.ticket)
                    let mean = options.meanServiceMinutes * 60_000
                    schedule(now + TimeSpan(millis: Int64(rng.exponential(mean: mean)) + 60_000), .agentWork(ticket: event.ticket, agent: agent))
                }
            }
        }

        while true {
            let nextTimer = node.nextTimerDue()
            guard let top = queue.peek ?? nil else {
                if let t = nextTimer, t < end { handle(node.advance(to: t), at: t); continue }
                break
            }
            if let t = nextTimer, t < top.at, t < end {
                handle(node.advance(to: t), at: t)
                continue
            }
            guard top.at < end else { break }
            for id in finished { collector.retire(node.center.tickets[id], workflow: workflow); node.passivate(id) }
            finished.removeAll(keepingCapacity: true)
            _ = queue.popMin()
            handle(node.advance(to: top.at), at: top.at)
            let now = top.at
            processed += 1
            switch top.what {
            case .arrival:
                created += 1
                let id = "T\(created)"
                let org = organizations[rng.pick(organizations.map { _ in 1.0 })]
                let new = NewTicket(id: id, subject: "Simulated request \(created)", description: "generated",
                                    requester: Requester(name: "Customer \(created)", email: "c\(created)@\(org).example", organization: org),
                                    channel: channels[rng.pick(channelWeights)], priority: Priority.allCases[rng.pick(priorityWeights)],
                                    requiredSkills: skillsPool.isEmpty ? [] : [skillsPool[rng.pick([1, 1, 1])]])
                if case .success(let events) = node.execute(.create(new)) { handle(events, at: now) }
                scheduleNextArrival()
                if created % 10_000 == 0 { progress?(created, Int(Double(options.days * options.ticketsPerDay))) }
            case let .shift(index, online):
                let agentID = agentIDs[index]
                if case .success(let events) = node.setPresence(agentID, online ? .online : .offline) { handle(events, at: now) }
                if !online {
                    // Shift handover: unsolved tickets go back to their queue for the next shift.
                    for ticketID in (held[agentID] ?? []).sorted() {
                        guard let t = node.center.tickets[ticketID], !t.isSolved(in: workflow) else { continue }
                        handle(node.execute(.assign(ticket: ticketID, agent: nil, by: Cause(.agent, agentID))).events, at: now)
                    }
                }
            case let .agentWork(ticketID, agentID):
                guard let ticket = node.center.tickets[ticketID], ticket.assignee == agentID,
                      !ticket.isSolved(in: workflow), node.center.agents[agentID]?.presence == .online else { break }
                handle(node.execute(.comment(ticket: ticketID, author: .agent, authorName: agentID, isPublic: true, body: "Working on it")).events, at: now)
                let roll = rng.unit()
                let canEscalate = ticket.line + 1 < workflow.lines.count
                if roll < 0.12 && canEscalate {
                    handle(node.execute(.escalate(ticket: ticketID, to: nil, by: Cause(.agent, agentID))).events, at: now)
                } else if roll < 0.4, workflow.statuses.contains("pending") {
                    handle(node.execute(.setStatus(ticket: ticketID, status: "pending", by: Cause(.agent, agentID))).events, at: now)
                    if rng.unit() < 0.85 {
                        schedule(now + TimeSpan(millis: Int64(rng.exponential(mean: options.meanRequesterReplyHours * 3_600_000))), .requesterReply(ticket: ticketID))
                    }
                } else if let solved = workflow.solvedStatuses.sorted().first(where: { workflow.allows(from: ticket.status, to: $0) }) ?? workflow.solvedStatuses.sorted().first {
                    let result = node.execute(.setStatus(ticket: ticketID, status: solved, by: Cause(.agent, agentID)))
                    handle(result.events, at: now)
                    if case .failure = result, let open = workflow.statuses.first(where: { workflow.allows(from: ticket.status, to: $0) && $0 != ticket.status }) {
                        handle(node.execute(.setStatus(ticket: ticketID, status: open, by: Cause(.agent, agentID))).events, at: now)
                        schedule(now + .minutes(5), .agentWork(ticket: ticketID, agent: agentID))
                    }
                }
            case .requesterReply(let ticketID):
                guard let ticket = node.center.tickets[ticketID], !ticket.isSolved(in: workflow) else { break }
                handle(node.execute(.comment(ticket: ticketID, author: .requester, authorName: ticket.requester.name, isPublic: true, body: "Here is more information")).events, at: now)
                if let after = node.center.tickets[ticketID], after.assignee != nil, after.status == "pending", workflow.allows(from: "pending", to: "open") {
                    handle(node.execute(.setStatus(ticket: ticketID, status: "open", by: Cause(.requester, ticket.requester.name))).events, at: now)
                }
                if let agent = node.center.tickets[ticketID]?.assignee { schedule(now + .minutes(10), .agentWork(ticket: ticketID, agent: agent)) }
            }
        }
        let last = node.advance(to: end)
        if let record, !last.isEmpty { record(last) { node.center.tickets[$0] } }
        return collector.report(center: node.center, options: options, end: end, happenings: processed)
    }
}

extension Result where Success == [Event] {
    /// The events of an accepted command; a rejection in a simulation just means the
    /// simulated person tried something the workflow forbids, so nothing happened.
    var events: [Event] { (try? get()) ?? [] }
}
