import Testing
@testable import TicketflowCore

/// `explain` must say exactly what `evaluate` decides: checked on 20,000 random conditions over
/// random tickets, changes and instants; and its text names the values seen.
@Suite struct ConditionTraceTests {
    let workflow = Workflow(name: "w", version: "1", statuses: ["new", "open", "solved"],
                            lines: [Line(name: "L1", queue: "q1"), Line(name: "L2", queue: "q2")],
                            queues: ["q1": QueueDefinition(name: "q1", routing: .leastLoaded), "q2": QueueDefinition(name: "q2", routing: .leastLoaded)])

    func randomCondition(_ rng: inout SplitMix64, depth: Int = 0) -> Condition {
        let fields = ["status", "priority", "channel", "line", "tags", "assignee", "fields.x", "comment.author"]
        let values = ["new", "open", "solved", "urgent", "low", "phone", "L1", "L2", "vip", "bob", "1", "agent"]
        func pick<T>(_ list: [T]) -> T { list[Int(rng.next() % UInt64(list.count))] }
        switch rng.next() % (depth < 3 ? 9 : 6) {
        case 0: return .changed(field: pick(fields))
        case 1: return .changedTo(field: pick(fields), value: pick(values))
        case 2: return .changedFrom(field: pick(fields), value: pick(values))
        case 3: return .since(anchor: pick(["created", "updated", "open", "solved"]), span: .minutes(Int64(rng.next() % 120)))
        case 4, 5: return .test(field: pick(fields), op: pick(FieldOperator.allCases), value: [pick(values), pick(values)])
        case 6: return .all((0..<Int(rng.next() % 3)).map { _ in randomCondition(&rng, depth: depth + 1) })
        case 7: return .any((0..<Int(rng.next() % 3)).map { _ in randomCondition(&rng, depth: depth + 1) })
        default: return .not(randomCondition(&rng, depth: depth + 1))
        }
    }

    @Test func explainHoldsExactlyWhenEvaluateDoes() {
        var rng = SplitMix64(seed: 15)
        let t0 = Instant(iso8601: "2027-01-04T09:00:00Z")!
        for _ in 0..<20_000 {
            var ticket = Ticket(id: "1", subject: "s", description: "", requester: Requester(name: "n", email: "e@x"),
                                channel: [.phone, .email][Int(rng.next() % 2)], priority: [.low, .urgent, .normal][Int(rng.next() % 3)],
                                status: ["new", "open", "solved"][Int(rng.next() % 3)], createdAt: t0)
            ticket.tags = rng.next() % 2 == 0 ? ["vip"] : []
            ticket.line = Int(rng.next() % 2)
            ticket.assignee = rng.next() % 2 == 0 ? "bob" : nil
            ticket.enteredStatusAt[ticket.status] = t0 + .minutes(Int64(rng.next() % 60))
            var ctx = EvaluationContext(ticket: ticket, workflow: workflow, now: t0 + .minutes(Int64(rng.next() % 180)))
            if rng.next() % 2 == 0 { ctx.changes["status"] = ("new", ticket.status) }
            if rng.next() % 3 == 0 { ctx.comment = Comment(id: 1, author: .agent, authorName: "bob", isPublic: true, body: "b", at: t0) }
            let condition = randomCondition(&rng)
            let trace = condition.explain(ctx)
            #expect(trace.held == condition.evaluate(ctx), "\(condition)")
            if trace.held != condition.evaluate(ctx) { return }
        }
    }

    @Test func theTextNamesTheValuesSeen() {
        let t0 = Instant(iso8601: "2027-01-04T09:00:00Z")!
        let ticket = Ticket(id: "1", subject: "s", description: "", requester: Requester(name: "n", email: "e@x"), channel: .phone,
                            priority: .high, status: "open", createdAt: t0)
        let ctx = EvaluationContext(ticket: ticket, workflow: workflow, now: t0 + .minutes(5), changes: ["status": ("new", "open")])
        let trace = Condition.all([.test(field: "priority", op: .is, value: ["urgent"]), .changedTo(field: "status", value: "open"),
                                   .since(anchor: "created", span: .minutes(10))]).explain(ctx)
        #expect(trace.lines() == [
            "✗ all of",
            "  ✗ priority is urgent (priority: high)",
            "  ✓ status changed to open (new → open)",
            "  ✗ 10m since created (holds from 2027-01-04T09:10:00Z; now 2027-01-04T09:05:00Z)",
        ])
    }
}
