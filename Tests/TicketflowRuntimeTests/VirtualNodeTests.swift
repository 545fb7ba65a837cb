import Testing
import TicketflowCore
import TicketflowWorkflow
@testable import TicketflowRuntime

@Suite struct VirtualNodeTests {
    static let workflowText = """
    workflow: vn
    version: 3
    statuses: [new, open, solved]
    lines: [{name: L1, queue: q1}, {name: L2, queue: q2}]
    templates: {late: "late {{ticket.id}}"}
    sla:
      - name: p
        calendar: 24x7
        warn_at: 50%
        targets: {first_reply: 1h}
        on_breach: [{escalate: next_line}, {notify: {to: boss@example.com, template: late}}]
    """

    @Test func timersFireAtTheirExactInstantWhenTimeAdvances() throws {
        let workflow = try #require(WorkflowLoader.load(text: Self.workflowText).workflow)
        let t0 = Instant(iso8601: "2027-01-04T09:00:00Z")!
        var node = VirtualNode(workflow: workflow, start: t0)
        _ = try node.execute(.create(NewTicket(id: "T1", subject: "s", requester: Requester(name: "n", email: "e@x")))).get()
        let events = node.advance(to: t0 + .hours(2))
        let warned = try #require(events.first { $0.change == .slaWarned(key: "p/first_reply") })
        let breached = try #require(events.first { $0.change == .slaBreached(key: "p/first_reply") })
        #expect(warned.at == t0 + .minutes(30))
        #expect(breached.at == t0 + .hours(1))
        #expect(breached.workflowVersion == "vn@3")
        #expect(node.center.tickets["T1"]?.line == 1)
        #expect(node.outbox.map(\.recipient) == ["boss@example.com"])
        #expect(node.outbox.first?.body == "late T1")
        #expect(node.now == t0 + .hours(2))
        #expect(node.timers.count == 0)
    }

    @Test func aReplacedWorkflowDecidesFromThenOn() throws {
        let v1 = try #require(WorkflowLoader.load(text: Self.workflowText).workflow)
        let v2 = try #require(WorkflowLoader.load(text: Self.workflowText.replacingOccurrences(of: "version: 3", with: "version: 4")
            .replacingOccurrences(of: "first_reply: 1h", with: "first_reply: 3h")).workflow)
        let t0 = Instant(iso8601: "2027-01-04T09:00:00Z")!
        var node = VirtualNode(workflow: v1, start: t0)
        _ = try node.execute(.create(NewTicket(id: "T1", subject: "s", requester: Requester(name: "n", email: "e@x")))).get()
        node.replaceWorkflow(v2)
        _ = try node.execute(.create(NewTicket(id: "T2", subject: "s", requester: Requester(name: "n", email: "e@x")))).get()
        #expect(node.center.tickets["T1"]?.workflowVersion == "vn@3")
        #expect(node.center.tickets["T2"]?.slaClocks["p/first_reply"]?.due == t0 + .hours(3))
        #expect(node.center.tickets["T2"]?.workflowVersion == "vn@4")
    }
}
