import Foundation
import TicketflowAPI
import NIOHTTP1
import TicketflowCore

/// Drives running nodes over their real API with simulated traffic: open-loop ticket
/// arrivals (the rate is kept whatever the latency, and latency is measured from the
/// planned send time, so queueing delay is not hidden), simulated agents who take, answer,
/// solve and escalate tickets, and requesters who reply. Bounded in time and count; it
/// stops by itself.
public struct StormRunner: Sendable {
    public struct Options: Sendable {
        public var targets: [String]
        public var rate: Double
        public var duration: TimeSpan
        public var profile: StormProfile
        public var seed: UInt64 = 1
        public var connections = 64
        /// Creates allowed in flight at once; beyond it an arrival is counted as an overload error.
        public var maxInFlight = 2048
        public var maxTickets = 10_000_000
        /// Sent as `Authorization: Bearer …` on every request.
        public var token: String?
        public init(targets: [String], rate: Double, duration: TimeSpan, profile: StormProfile) {
            self.targets = targets; self.rate = rate; self.duration = duration; self.profile = profile
        }
    }

    let options: Options
    public init(options: Options) { self.options = options }

    /// Runs the storm; `progress` gets one line a second.
    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> StormReport {
        let client = try LoadClient(urls: options.targets, connections: options.connections, token: options.token)
        let recorder = StormRecorder()
        let profile = options.profile
        let pattern = profile.arrivals?.pattern ?? .constant
        let duration = Double(options.duration.millis) / 1000
        let plan = ArrivalPlan(pattern: pattern, rate: options.rate, rampTo: profile.arrivals?.ramp_to,
                               bursts: (profile.arrivals?.bursts ?? []).map {
                                   (Double(TimeSpan(parsing: $0.at)!.millis) / 1000,
                                    Double((TimeSpan(parsing: $0.at)! + TimeSpan(parsing: $0.for)!).millis) / 1000, $0.factor)
                               }, duration: duration)

        // Lines and queues, from the node itself.
        let queues = try await client.send(.GET, "/api/v1/queues", target: 0)
        let list: [QueueSummary]
        do {
            guard queues.status == 200 else { throw LoadClient.Failure(kind: "HTTP \(queues.status)") }
            list = try queues.decode(QueueList.self).queues
        } catch {
            await client.close()
            throw LoadClient.Failure(kind: "GET /api/v1/queues answered \(error): is \(options.targets[0]) a Ticketflow node?")
        }
        let lineOfQueue = Dictionary(list.compactMap { q in q.line.map { (q.name, $0) } }, uniquingKeysWith: { a, _ in a })
        // Lines in escalation order, from the active workflow.
        let workflowReply = try await client.send(.GET, "/api/v1/workflow", target: 0)
        let lines = try workflowReply.decode(WorkflowView.self).lines.map(\.name)
        guard !lines.isEmpty else {
            await client.close()
            throw LoadClient.Failure(kind: "GET /api/v1/workflow named no lines")
        }
        let breachesAtStart = try await Self.breaches(client)

        let agents = try await registerAgents(client, lines: lines, recorder: recorder)
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(options.duration.millis)

        let arrivals = Task { await self.arrive(client: client, recorder: recorder, plan: plan, start: start, deadline: deadline) }
        var workers: [Task<Void, Never>] = []
        for (index, agent) in agents.enumerated() {
            workers.append(Task { await self.work(as: agent, index: index, client: client, recorder: recorder, deadline: deadline) })
        }
        // One line a second: achieved rate, errors, p99, backlog.
        var second = 0
        while clock.now < deadline {
            second += 1
            // A sleep ends early only when the storm is cancelled; the loop then stops.
            try? await Task.sleep(until: start + .seconds(second), clock: clock)
            let backlog = await Self.backlog(client, lineOfQueue: lineOfQueue)
            // The progress line is best-effort; the final figure below is read strictly.
            let breaches = (try? await Self.breaches(client)).map { $0 - breachesAtStart } ?? 0
            let s = await recorder.closeSecond(at: second, backlog: backlog, breaches: breaches)
            progress(String(format: "t=%3ds  %5d creates/s  errors %d  p99 %.1f ms  backlog %@  breaches %d", second, s.creates, s.errors, s.p99Millis,
                            lines.map { "\($0)=\(backlog[$0] ?? 0)" }.joined(separator: " ") as NSString, breaches))
        }
        await arrivals.value
        for w in workers { w.cancel() }
        for w in workers { await w.value }

        let breaches: Int
        do { breaches = try await Self.breaches(client) - breachesAtStart } catch {
            await client.close()
            throw LoadClient.Failure(kind: "the node did not answer /metrics at the end of the storm (\(error)): its SLA figures are unknown")
        }
        let breachedNow = await Self.countBreached(client)
        await client.close()
        let created = await recorder.createdTickets.count
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return StormReport(targets: options.targets, pattern: pattern.rawValue, requestedRate: options.rate, durationSeconds: duration,
                           ticketsCreated: created, achievedRate: Double(created) / max(seconds, 0.001),
                           latencyMillis: await recorder.percentiles(), errors: await recorder.errors,
                           rejectedByWorkflow: await recorder.rejected, slaBreaches: breaches, ticketsBreachedNow: breachedNow,
                           agents: agents.count, timeline: await recorder.timeline)
    }

    // MARK: Arrivals

    func arrive(client: LoadClient, recorder: StormRecorder, plan: ArrivalPlan, start: ContinuousClock.Instant,
                deadline: ContinuousClock.Instant) async {
        var rng = SplitMix64(seed: options.seed)
        let clock = ContinuousClock()
        let inFlight = InFlight()
        var t = 0.0
        var sent = 0
        let mix = options.profile.mix
        await withTaskGroup(of: Void.self) { group in
            while sent < options.maxTickets {
                t += plan.gap(after: t, rng: &rng)
                let planned = start + .microseconds(Int64(t * 1_000_000))
                guard planned < deadline else { break }
                // Cancelled: the open loop ends at once, which is what cancelling asks.
                if planned > clock.now { try? await Task.sleep(until: planned, clock: clock) }
                sent += 1
                let body = Self.ticketBody(sent, mix: mix, rng: &rng)
                let target = sent % options.targets.count
                guard await inFlight.enter(limit: options.maxInFlight) else {
                    await recorder.error("overload: more than \(options.maxInFlight) creates in flight")
                    continue
                }
                group.addTask {
                    defer { Task { await inFlight.leave() } }
                    do {
                        let reply = try await client.send(.POST, "/api/v1/tickets", json: body, target: target)
                        let micros = UInt64(max(0, (clock.now - planned).components.attoseconds / 1_000_000_000_000 + (clock.now - planned).components.seconds * 1_000_000))
                        if reply.status == 201 {
                            do {
                                await recorder.created(try reply.decode(TicketView.self).id)
                                await recorder.success("create", micros: micros)
                            } catch {
                                await recorder.error("create: the answer is not a ticket: \(error)")
                            }
                        } else {
                            await recorder.error("create: HTTP \(reply.status)")
                        }
                    } catch {
                        await recorder.error("create: \(error)")
                    }
                }
            }
        }
    }

    static func ticketBody(_ n: Int, mix: StormProfile.Mix?, rng: inout SplitMix64) -> Data {
        func pick(_ weights: [String: Double]?, _ fallback: String) -> String {
            guard let weights, !weights.isEmpty else { return fallback }
            let keys = weights.keys.sorted()
            return keys[rng.pick(keys.map { weights[$0]! })]
        }
        let channel = pick(mix?.channel ?? ["email": 45, "web": 25, "chat": 15, "phone": 10, "social": 5], "email")
        let priority = pick(mix?.priority ?? ["low": 20, "normal": 55, "high": 18, "urgent": 7], "normal")
        let organization = pick(mix?.organization ?? ["acme": 3, "globex": 2, "initech": 1], "acme")
        let skill = pick(mix?.skills, "none")
        let request = NewTicketRequest(subject: "Storm ticket \(n)", description: "generated by ticketflow storm",
                                       priority: Priority(rawValue: priority), channel: Channel(rawValue: channel),
                                       requester: RequesterInput(name: "Requester \(n)", email: "r\(n)@\(organization).example", organization: organization),
                                       tags: ["storm"], fields: [:], skills: skill != "none" ? [skill] : nil)
        return JSONOutput.data(request)
    }

    // MARK: Agents and requesters

    struct SimAgent: Sendable { var id: String; var line: String }

    func registerAgents(_ client: LoadClient, lines: [String], recorder: StormRecorder) async throws -> [SimAgent] {
        let count = options.profile.agents?.count ?? 10
        let capacity = options.profile.agents?.capacity ?? 8
        let skills = Array((options.profile.mix?.skills ?? [:]).keys.filter { $0 != "none" }).sorted()
        var shares = lines.count == 1 ? [1.0] : (lines.count == 2 ? [0.8, 0.2] : [0.75, 0.2] + Array(repeating: 0.05 / Double(max(1, lines.count - 2)), count: max(0, lines.count - 2)))
        shares = Array(shares.prefix(lines.count))
        var agents: [SimAgent] = []
        for i in 0..<count {
            let position = (Double(i) + 0.5) / Double(count)
            var acc = 0.0, lineIndex = lines.count - 1
            for (j, s) in shares.enumerated() { acc += s; if position < acc { lineIndex = j; break } }
            let agent = SimAgent(id: String(format: "storm-agent-%03d", i + 1), line: lines[lineIndex])
            let body = AgentRequest(name: agent.id, line: agent.line, skills: skills, capacity: capacity, presence: .online)
            let reply = try await client.send(.PUT, "/api/v1/agents/\(agent.id)", body: body, target: i % options.targets.count)
            guard reply.status == 200 || reply.status == 201 else {
                throw LoadClient.Failure(kind: "registering \(agent.id) answered HTTP \(reply.status)")
            }
            agents.append(agent)
        }
        return agents
    }

    /// One simulated agent: polls their tickets, works each after a random service time —
    /// a public reply, then solve, escalate, or ask the requester (who may answer later).
    func work(as agent: SimAgent, index: Int, client: LoadClient, recorder: StormRecorder, deadline: ContinuousClock.Instant) async {
        var rng = SplitMix64(seed: options.seed &+ UInt64(index) &* 7919)
        let clock = ContinuousClock()
        let poll = TimeSpan(parsing: options.profile.agents?.poll ?? "1s")!
        let service = Double(TimeSpan(parsing: options.profile.agents?.service_time ?? "20s")!.millis) / 1000
        let solve = options.profile.agents?.solve ?? 0.6
        let escalate = options.profile.agents?.escalate ?? 0.1
        let replyChance = options.profile.requesters?.reply ?? 0.7
        let replyTime = Double(TimeSpan(parsing: options.profile.requesters?.reply_time ?? "15s")!.millis) / 1000
        let target = index % options.targets.count
        var busyUntil: [String: ContinuousClock.Instant] = [:]
        var asked: [(ticket: String, at: ContinuousClock.Instant)] = []

        func timed(_ op: String, _ method: HTTPMethod, _ path: String, _ body: (any Encodable)? = nil) async -> LoadClient.Reply? {
            let sent = clock.now
            do {
                let reply = try await client.send(method, path, json: body.map { JSONOutput.data($0) }, target: target)
                let micros = UInt64((clock.now - sent).components.attoseconds / 1_000_000_000_000 + (clock.now - sent).components.seconds * 1_000_000)
                if (200..<300).contains(reply.status) {
                    await recorder.success(op, micros: micros)
                    return reply
                }
                // An answer without the JSON error form (a proxy's, say) is named by its HTTP status.
                let code = (try? reply.decode(ErrorBody.self).error.code) ?? "HTTP \(reply.status)"
                if reply.status == 409 || reply.status == 422 { await recorder.rejection(op, code: code) } else { await recorder.error("\(op): \(code)") }
            } catch {
                await recorder.error("\(op): \(error)")
            }
            return nil
        }

        while !Task.isCancelled && clock.now < deadline {
            let now = clock.now
            // Requesters answer questions that are due.
            while let first = asked.first, first.at <= now {
                asked.removeFirst()
                _ = await timed("requester_reply", .POST, "/api/v1/tickets/\(first.ticket)/comments",
                                CommentRequest(body: "Here are the details", isPublic: true, author: .requester))
            }
            var tickets: [TicketView] = []
            if let reply = await timed("agent_poll", .GET, "/api/v1/agents/\(agent.id)/tickets") {
                do { tickets = try reply.decode(AgentTickets.self).tickets } catch {
                    await recorder.error("agent_poll: the answer is not a list of tickets: \(error)")
                }
            }
            for t in tickets {
                let id = t.id
                guard t.status != "pending" else { continue }
                guard let until = busyUntil[id] else {
                    busyUntil[id] = now + .milliseconds(Int64(rng.exponential(mean: service) * 1000))
                    continue
                }
                guard until <= now else { continue }
                busyUntil[id] = nil
                _ = await timed("agent_reply", .POST, "/api/v1/tickets/\(id)/comments",
                                CommentRequest(body: "Thanks, working on it", isPublic: true, author: .agent, authorName: agent.id))
                let roll = rng.unit()
                if roll < solve {
                    _ = await timed("solve", .PATCH, "/api/v1/tickets/\(id)", TicketUpdateRequest(status: "solved"))
                } else if roll < solve + escalate {
                    _ = await timed("escalate", .POST, "/api/v1/tickets/\(id)/escalate")
                } else if await timed("ask_requester", .PATCH, "/api/v1/tickets/\(id)", TicketUpdateRequest(status: "pending")) != nil, rng.unit() < replyChance {
                    asked.append((id, now + .milliseconds(Int64(rng.exponential(mean: replyTime) * 1000))))
                    asked.sort { $0.at < $1.at }
                }
            }
            // Cancelled: the simulated agent stops.
            try? await Task.sleep(for: .milliseconds(poll.millis))
        }
    }

    // MARK: Observations

    /// Waiting tickets per line, exact. Queue views are cluster-wide on every node, so the
    /// first target that answers gives the whole backlog (summing the targets would count a
    /// cluster's tickets once per node).
    static func backlog(_ client: LoadClient, lineOfQueue: [String: String]) async -> [String: Int] {
        for target in 0..<(await client.targetCount) {
            // A target that does not answer is passed over: the next one has the same cluster-wide view.
            guard let reply = try? await client.send(.GET, "/api/v1/queues", target: target), reply.status == 200,
                  let queues = try? reply.decode(QueueList.self).queues else { continue }
            var out: [String: Int] = [:]
            for q in queues { if let line = lineOfQueue[q.name] { out[line, default: 0] += q.waiting } }
            return out
        }
        return [:]
    }

    static func breaches(_ client: LoadClient) async throws -> Int {
        var total = 0
        for target in 0..<(await client.targetCount) {
            let reply = try await client.send(.GET, "/metrics", target: target)
            let text = String(buffer: reply.body)
            for line in text.split(separator: "\n") where line.hasPrefix("ticketflow_sla_breaches_total ") {
                total += Int(Double(line.split(separator: " ").last ?? "0") ?? 0)
            }
        }
        return total
    }

    /// Tickets breached at the end, counted through the list API (bounded to 100 pages), from
    /// the first target that answers: lists are cluster-wide on every node.
    static func countBreached(_ client: LoadClient) async -> Int {
        for target in 0..<(await client.targetCount) {
            var total = 0, after: Int64 = 0
            for _ in 0..<100 {
                // A target that does not answer is passed over: the next one has the same cluster-wide list.
                guard let reply = try? await client.send(.GET, "/api/v1/tickets?sla=breached&limit=500&after=\(after)", target: target),
                      reply.status == 200, let page = try? reply.decode(TicketPage.self) else { break }
                total += page.tickets.count
                guard let next = page.nextAfter else { return total }
                after = next
            }
            if total > 0 { return total }
        }
        return 0
    }
}

/// Counts creates in flight so the open loop can refuse (and count) instead of queueing without bound.
actor InFlight {
    private var count = 0
    func enter(limit: Int) -> Bool {
        guard count < limit else { return false }
        count += 1
        return true
    }
    func leave() { count -= 1 }
}
