import Testing
@testable import TicketflowCore

@Suite struct EngineTests {
    let t0 = Instant(iso8601: "2027-01-04T09:00:00Z")!

    func workflow(triggers: [Trigger] = [], automations: [Automation] = [], sla: [SLAPolicy] = [],
                  routing: RoutingPolicy = .leastLoaded, loopCap: Int = 20) -> Workflow {
        Workflow(name: "test", version: "1", statuses: ["new", "open", "pending", "solved", "closed"],
                 transitions: ["new": ["open", "pending", "solved"], "open": ["pending", "solved"], "pending": ["open", "solved"],
                               "solved": ["open", "closed"], "closed": []],
                 lines: [Line(name: "L1", queue: "q1"), Line(name: "L2", queue: "q2")],
                 queues: ["q1": QueueDefinition(name: "q1", routing: routing), "q2": QueueDefinition(name: "q2", routing: routing)],
                 slaPolicies: sla, triggers: triggers, automations: automations, triggerLoopCap: loopCap)
    }

    func newTicket(_ id: String, priority: Priority = .normal, skills: [String] = []) -> Command {
        .create(NewTicket(id: id, subject: "Help", requester: Requester(name: "Ann", email: "ann@example.com"),
                          channel: .email, priority: priority, requiredSkills: skills))
    }

    /// `notify: assignee` on an unassigned ticket tells nobody and says so in the audit,
    /// instead of writing to an address called "unassigned".
    @Test func notifyingAnAbsentAssigneeIsSkippedWithANote() throws {
        var wf = workflow(triggers: [Trigger(name: "tell", on: [.created], condition: nil, actions: [.notify(recipient: "assignee", template: "t")])])
        wf.templates = ["t": Template(literal: "hello")]
        var center = SupportCenter(workflow: wf)
        let events = try center.execute(newTicket("T1"), at: t0).get()
        #expect(!events.contains { if case .notified = $0.change { return true } else { return false } })
        #expect(events.contains { if case .note(let text) = $0.change { return text.contains("notify assignee skipped") } else { return false } })
    }

    @Test func forbiddenTransitionIsRejectedAndChangesNothing() throws {
        var center = SupportCenter(workflow: workflow())
        _ = center.execute(newTicket("T1"), at: t0)
        let before = center.tickets["T1"]
        let result = center.execute(.setStatus(ticket: "T1", status: "closed", by: .api), at: t0 + .minutes(1))
        guard case .failure(let rejection) = result else { Issue.record("expected a rejection"); return }
        #expect(rejection.code == .transitionNotAllowed)
        #expect(center.tickets["T1"] == before)
    }

    @Test func badUpdateFieldRejectsTheWholeUpdate() {
        var center = SupportCenter(workflow: workflow())
        _ = center.execute(newTicket("T1"), at: t0)
        // A bad value among good ones: nothing changes.
        let result = center.execute(.update(ticket: "T1", changes: TicketChanges(subject: "", priority: "high"), by: .api), at: t0)
        #expect((try? result.get()) == nil)
        #expect(center.tickets["T1"]?.priority == .normal)
        // A field that does not exist cannot even be named.
        #expect(throws: Rejection.self) { try TicketChanges(named: ["priority": "high", "colour": "red"]) }
    }

    @Test func replayingTheJournalRebuildsTheSameTicket() throws {
        let wf = workflow(triggers: [Trigger(name: "tag-urgent", on: [.created], condition: .test(field: "priority", op: .is, value: ["urgent"]), actions: [.addTags(["hot"]), .escalate(.next)])],
                          sla: [SLAPolicy(name: "p", when: nil, targets: [SLATarget(metric: .firstReply, target: .hours(1), calendar: "24x7")])])
        var center = SupportCenter(workflow: wf)
        var journal: [Event] = []
        journal += try center.execute(newTicket("T1", priority: .urgent), at: t0).get()
        journal += try center.execute(.comment(ticket: "T1", author: .agent, authorName: "bob", isPublic: true, body: "hi"), at: t0 + .minutes(5)).get()
        var replayed = Ticket(id: "", subject: "", description: "", requester: Requester(name: "", email: ""), channel: .web, priority: .low, status: "", createdAt: t0)
        for event in journal where event.ticket == "T1" { replayed.apply(event) }
        #expect(replayed == center.tickets["T1"])
        #expect(replayed.tags == ["hot"])
        #expect(replayed.line == 1)
        #expect(replayed.slaClocks["p/first_reply"]?.fulfilledAt == t0 + .minutes(5))
    }

    @Test func triggersFireOncePerChainAndSeeEarlierChanges() throws {
        // a sets priority high; b reacts to priority high by tagging; a must not fire twice.
        let wf = workflow(triggers: [
            Trigger(name: "b", on: [.created], condition: .test(field: "priority", op: .is, value: ["high"]), actions: [.addTags(["b"])]),
            Trigger(name: "a", on: [.created], condition: nil, actions: [.set(field: "priority", value: "high"), .addTags(["a"])]),
        ])
        var center = SupportCenter(workflow: wf)
        let events = try center.execute(newTicket("T1"), at: t0).get()
        #expect(center.tickets["T1"]?.tags == ["a", "b"])
        #expect(events.filter { $0.cause == Cause(.trigger, "a") && $0.change == .fieldChanged(field: "priority", from: "normal", to: "high") }.count == 1)
    }

    @Test func loopCapStopsTheChainWithAnAuditEntry() throws {
        let triggers = (1...5).map { Trigger(name: "t\($0)", on: [.created], condition: nil, actions: [.addTags(["t\($0)"])]) }
        var center = SupportCenter(workflow: workflow(triggers: triggers, loopCap: 3))
        let events = try center.execute(newTicket("T1"), at: t0).get()
        #expect(center.tickets["T1"]?.tags == ["t1", "t2", "t3"])
        #expect(events.contains { if case .note(let n) = $0.change { return n.contains("loop cap (3)") } else { return false } })
    }

    @Test func timerFiresOnceOnly() throws {
        let wf = workflow(sla: [SLAPolicy(name: "p", when: nil, targets: [SLATarget(metric: .firstReply, target: .minutes(30), calendar: "24x7")])])
        var center = SupportCenter(workflow: wf)
        _ = try center.execute(newTicket("T1"), at: t0).get()
        let timer = "sla/p/first_reply/breach"
        #expect(center.tickets["T1"]?.timers[timer]?.due == t0 + .minutes(30))
        // Too early: nothing happens.
        #expect(try center.execute(.timerFired(ticket: "T1", timer: timer), at: t0 + .minutes(29)).get().isEmpty)
        let fired = try center.execute(.timerFired(ticket: "T1", timer: timer), at: t0 + .minutes(40)).get()
        #expect(fired.contains { $0.change == .timerFired(id: timer, lateBy: .minutes(10)) })
        #expect(fired.contains { $0.change == .slaBreached(key: "p/first_reply") })
        #expect(try center.execute(.timerFired(ticket: "T1", timer: timer), at: t0 + .minutes(41)).get().isEmpty)
    }

    @Test func automationFiresOncePerArming() throws {
        let auto = Automation(name: "close", condition: .since(anchor: "solved", span: .days(4)), actions: [.set(field: "status", value: "closed")])
        var center = SupportCenter(workflow: workflow(automations: [auto]))
        _ = try center.execute(newTicket("T1"), at: t0).get()
        #expect(center.tickets["T1"]?.timers["auto/close"] == nil)
        _ = try center.execute(.setStatus(ticket: "T1", status: "solved", by: .api), at: t0 + .hours(1)).get()
        #expect(center.tickets["T1"]?.timers["auto/close"]?.due == t0 + .hours(1) + .days(4))
        // Reopened before the four days: the timer is dropped, not left to fire.
        _ = try center.execute(.setStatus(ticket: "T1", status: "open", by: .api), at: t0 + .hours(2)).get()
        #expect(center.tickets["T1"]?.timers["auto/close"] == nil)
        _ = try center.execute(.setStatus(ticket: "T1", status: "solved", by: .api), at: t0 + .hours(3)).get()
        let due = t0 + .hours(3) + .days(4)
        _ = try center.execute(.timerFired(ticket: "T1", timer: "auto/close"), at: due).get()
        #expect(center.tickets["T1"]?.status == "closed")
    }

    @Test func ticketsWaitUntilAnAgentCanTakeThem() throws {
        var center = SupportCenter(workflow: workflow())
        _ = try center.upsert(Agent(id: "a1", name: "A", line: "L1", capacity: 1, presence: .offline), at: t0).get()
        _ = try center.execute(newTicket("T1"), at: t0).get()
        _ = try center.execute(newTicket("T2", priority: .urgent), at: t0 + .minutes(1)).get()
        #expect(center.tickets["T1"]?.assignee == nil)
        // Going online assigns the urgent ticket first, then capacity is full.
        _ = try center.setPresence("a1", .online, at: t0 + .minutes(2)).get()
        #expect(center.tickets["T2"]?.assignee == "a1")
        #expect(center.tickets["T1"]?.assignee == nil)
        // Solving frees capacity and the waiting ticket follows at once.
        _ = try center.execute(.setStatus(ticket: "T2", status: "solved", by: .api), at: t0 + .minutes(3)).get()
        #expect(center.tickets["T1"]?.assignee == "a1")
    }

    @Test func skillsRoutingNeedsEveryRequiredSkill() throws {
        var center = SupportCenter(workflow: workflow(routing: .skills))
        _ = try center.upsert(Agent(id: "a1", name: "A", line: "L1", skills: ["billing"], presence: .online), at: t0).get()
        _ = try center.upsert(Agent(id: "a2", name: "B", line: "L1", skills: ["billing", "network"], presence: .online), at: t0).get()
        _ = try center.execute(newTicket("T1", skills: ["network", "billing"]), at: t0).get()
        _ = try center.execute(newTicket("T2", skills: ["unix"]), at: t0).get()
        #expect(center.tickets["T1"]?.assignee == "a2")
        #expect(center.tickets["T2"]?.assignee == nil)
    }

    @Test func escalationKeepsHistoryAndRequeues() throws {
        var center = SupportCenter(workflow: workflow())
        _ = try center.upsert(Agent(id: "a1", name: "A", line: "L1", presence: .online), at: t0).get()
        _ = try center.execute(newTicket("T1"), at: t0).get()
        _ = try center.execute(.comment(ticket: "T1", author: .agent, authorName: "a1", isPublic: false, body: "tried a reboot"), at: t0).get()
        _ = try center.execute(.escalate(ticket: "T1", to: nil, by: Cause(.agent, "a1")), at: t0).get()
        let t = try #require(center.tickets["T1"])
        #expect(t.line == 1 && t.queue == "q2" && t.assignee == nil)
        #expect(t.comments.map(\.body) == ["tried a reboot"])
        #expect(center.waitingTickets(in: "q2") == ["T1"])
        guard case .failure(let r) = center.execute(.escalate(ticket: "T1", to: nil, by: .api), at: t0) else { Issue.record("expected rejection"); return }
        #expect(r.code == .noLine)
    }
}
