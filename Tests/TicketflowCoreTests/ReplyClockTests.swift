import Testing
@testable import TicketflowCore

/// The reply clocks' semantics as docs/workflow-language.md states them (after Zendesk's
/// first reply, next reply and periodic update), and the defects issue 15 found in them.
@Suite struct ReplyClockTests {
    let t0 = Instant(iso8601: "2027-01-04T09:00:00Z")!

    func workflow(_ targets: [SLATarget], macros: [Macro] = []) -> Workflow {
        Workflow(name: "test", version: "1", statuses: ["new", "open", "solved"],
                 transitions: ["new": ["open", "solved"], "open": ["solved"], "solved": ["open"]],
                 lines: [Line(name: "L1", queue: "q1")], queues: ["q1": QueueDefinition(name: "q1", routing: .leastLoaded)],
                 slaPolicies: [SLAPolicy(name: "p", when: nil, targets: targets)],
                 macros: Dictionary(uniqueKeysWithValues: macros.map { ($0.name, $0) }))
    }

    static let replyClocks = [
        SLATarget(metric: .firstReply, target: .hours(1), calendar: "24x7"),
        SLATarget(metric: .nextReply, target: .hours(2), calendar: "24x7"),
        SLATarget(metric: .periodicUpdate, target: .hours(4), calendar: "24x7"),
    ]

    func create(_ center: inout SupportCenter, at: Instant) throws {
        _ = try center.execute(.create(NewTicket(id: "T1", subject: "Help", requester: Requester(name: "Ann", email: "ann@example.com"),
                                                 channel: .email, priority: .normal)), at: at).get()
    }

    func say(_ center: inout SupportCenter, _ author: AuthorKind, public isPublic: Bool = true, at: Instant) throws {
        _ = try center.execute(.comment(ticket: "T1", author: author, authorName: author == .agent ? "bob" : "ann@example.com",
                                        isPublic: isPublic, body: "text"), at: at).get()
    }

    func clock(_ center: SupportCenter, _ metric: String) -> SLAClock? { center.tickets["T1"]?.slaClocks["p/\(metric)"] }

    /// Before any agent reply, the first-reply clock measures the wait; a requester writing
    /// again does not start a next-reply clock beside it (it did: two clocks for one wait).
    @Test func aRequesterCommentBeforeAnyAgentReplyStartsNoNextReplyClock() throws {
        var center = SupportCenter(workflow: workflow(Self.replyClocks))
        try create(&center, at: t0)
        try say(&center, .requester, at: t0 + .minutes(10))
        try say(&center, .requester, at: t0 + .minutes(20))
        #expect(clock(center, "next_reply")?.isRunning == false)
        #expect(clock(center, "first_reply")?.isRunning == true)
        #expect(center.tickets["T1"]?.timers.keys.contains("sla/p/next_reply/breach") == false)
        // The first public agent reply satisfies first reply; the requester's next comment starts
        // next reply, and writing again while it runs keeps its start (the oldest unanswered comment).
        try say(&center, .agent, at: t0 + .minutes(30))
        #expect(clock(center, "first_reply")?.fulfilledAt == t0 + .minutes(30))
        try say(&center, .requester, at: t0 + .minutes(40))
        try say(&center, .requester, at: t0 + .minutes(50))
        #expect(clock(center, "next_reply")?.isRunning == true)
        #expect(clock(center, "next_reply")?.due == t0 + .minutes(40) + .hours(2))
    }

    /// Private notes and requester comments never satisfy a reply clock; public agent replies do.
    @Test func onlyPublicAgentRepliesSatisfyReplyClocks() throws {
        var center = SupportCenter(workflow: workflow(Self.replyClocks))
        try create(&center, at: t0)
        try say(&center, .agent, public: false, at: t0 + .minutes(5))
        try say(&center, .requester, at: t0 + .minutes(6))
        #expect(clock(center, "first_reply")?.isRunning == true)
        #expect(clock(center, "periodic_update")?.startedAt == t0)
        try say(&center, .agent, at: t0 + .minutes(7))
        #expect(clock(center, "first_reply")?.isStopped == true)
        // Periodic update starts over at every public agent reply.
        #expect(clock(center, "periodic_update")?.startedAt == t0 + .minutes(7))
    }

    /// Issue 15: a public reply written by a macro an agent applies is that agent's reply; the
    /// audit names the agent (who applied it) and the macro (the cause of each change).
    @Test func aMacroAppliedByAnAgentRepliesAsThatAgent() throws {
        let macro = Macro(name: "ask-for-logs", actions: [.comment(isPublic: true, body: Template(literal: "Please send the logs")), .set(field: "status", value: "open")])
        var center = SupportCenter(workflow: workflow(Self.replyClocks, macros: [macro]))
        try create(&center, at: t0)
        let events = try center.execute(.applyMacro(ticket: "T1", macro: "ask-for-logs", by: Cause(.agent, "bob")), at: t0 + .minutes(12)).get()
        #expect(clock(center, "first_reply")?.fulfilledAt == t0 + .minutes(12))
        let comment = try #require(center.tickets["T1"]?.comments.last)
        #expect(comment.author == .agent && comment.authorName == "bob" && comment.isPublic)
        #expect(events.contains { $0.change == .note("macro 'ask-for-logs' applied by agent:bob") && $0.cause == Cause(.agent, "bob") })
        #expect(events.contains { if case .commented = $0.change { return $0.cause == Cause(.macro, "ask-for-logs") } else { return false } })
        // Applied by the API (no agent), the same macro writes a system comment: nobody replied.
        var other = SupportCenter(workflow: workflow(Self.replyClocks, macros: [macro]))
        try create(&other, at: t0)
        _ = try other.execute(.applyMacro(ticket: "T1", macro: "ask-for-logs", by: .api), at: t0 + .minutes(12)).get()
        #expect(other.tickets["T1"]?.comments.last?.author == .system)
        #expect(other.tickets["T1"]?.slaClocks["p/first_reply"]?.isRunning == true)
    }

    /// Issue 15: a warning due at the breach instant fires first, then the breach, each once,
    /// whichever timer fires first; spelled as 0m before or as 100%.
    @Test(arguments: [WarnThreshold.before(.zero), .percent(100)])
    func aWarningDueWithTheBreachFiresFirst(_ threshold: WarnThreshold) throws {
        var target = SLATarget(metric: .firstReply, target: .minutes(30), calendar: "24x7")
        target.warnAt = threshold
        target.onWarning = [.addTags(["warned"])]
        target.onBreach = [.addTags(["breached"])]
        var center = SupportCenter(workflow: workflow([target]))
        try create(&center, at: t0)
        let due = t0 + .minutes(30)
        #expect(center.tickets["T1"]?.timers["sla/p/first_reply/warning"]?.due == due)
        // The breach timer first (its id sorts first): the warning still comes before it.
        let events = try center.execute(.timerFired(ticket: "T1", timer: "sla/p/first_reply/breach"), at: due).get()
        let order = events.compactMap { event -> String? in
            switch event.change {
            case .slaWarned: return "warned"
            case .slaBreached: return "breached"
            default: return nil
            }
        }
        #expect(order == ["warned", "breached"])
        #expect(center.tickets["T1"]?.tags == ["breached", "warned"])
        // The warning's own timer is gone or finds it done: nothing fires twice.
        let again = try center.execute(.timerFired(ticket: "T1", timer: "sla/p/first_reply/warning"), at: due).get()
        #expect(!again.contains { $0.change == .slaWarned(key: "p/first_reply") })
    }

    /// A warning at the clock's start (0%) fires at the start.
    @Test func aWarningAtTheStartFiresAtTheStart() throws {
        var target = SLATarget(metric: .firstReply, target: .minutes(30), calendar: "24x7")
        target.warnAt = .percent(0)
        var center = SupportCenter(workflow: workflow([target]))
        try create(&center, at: t0)
        #expect(center.tickets["T1"]?.timers["sla/p/first_reply/warning"]?.due == t0)
        let events = try center.execute(.timerFired(ticket: "T1", timer: "sla/p/first_reply/warning"), at: t0).get()
        #expect(events.contains { $0.change == .slaWarned(key: "p/first_reply") })
    }

    /// Solved without a reply and reopened, a ticket still waits for its first reply: the
    /// clock resumes where it stopped (as Zendesk's first reply time ends at the first reply
    /// after reopening).
    @Test func aFirstReplyNeverGivenResumesAtReopening() throws {
        var center = SupportCenter(workflow: workflow(Self.replyClocks))
        try create(&center, at: t0)
        _ = try center.execute(.setStatus(ticket: "T1", status: "solved", by: Cause(.agent, "bob")), at: t0 + .minutes(10)).get()
        #expect(clock(center, "first_reply")?.isStopped == true && clock(center, "first_reply")?.fulfilledAt == nil)
        _ = try center.execute(.setStatus(ticket: "T1", status: "open", by: Cause(.requester, "ann@example.com")), at: t0 + .minutes(40)).get()
        // 10 minutes used before the solve, 50 left from the reopening.
        #expect(clock(center, "first_reply")?.isRunning == true)
        #expect(clock(center, "first_reply")?.due == t0 + .minutes(90))
        try say(&center, .agent, at: t0 + .minutes(45))
        #expect(clock(center, "first_reply")?.fulfilledAt == t0 + .minutes(45))
    }

    /// Reopening a solved ticket: periodic update starts over; the requester's next comment
    /// starts next reply; first reply stays as it was.
    @Test func reopeningStartsNextReplyAndPeriodicUpdateAfresh() throws {
        var center = SupportCenter(workflow: workflow(Self.replyClocks))
        try create(&center, at: t0)
        try say(&center, .agent, at: t0 + .minutes(5))
        _ = try center.execute(.setStatus(ticket: "T1", status: "solved", by: Cause(.agent, "bob")), at: t0 + .minutes(10)).get()
        #expect(clock(center, "periodic_update")?.isStopped == true)
        _ = try center.execute(.setStatus(ticket: "T1", status: "open", by: Cause(.requester, "ann@example.com")), at: t0 + .minutes(20)).get()
        #expect(clock(center, "next_reply")?.isRunning == false)
        try say(&center, .requester, at: t0 + .minutes(21))
        #expect(clock(center, "next_reply")?.startedAt == t0 + .minutes(21) && clock(center, "next_reply")?.isRunning == true)
        #expect(clock(center, "periodic_update")?.startedAt == t0 + .minutes(20))
        #expect(clock(center, "first_reply")?.fulfilledAt == t0 + .minutes(5))
    }
}
