import Foundation
import GRDB
import Testing
import TicketflowCore
import TicketflowNode
import TicketflowReplay
import TicketflowRuntime
import TicketflowStorage
import TicketflowTesting

/// `ticketflow replay`'s check and `why` over a data directory a real node wrote.
@Suite(.timeLimit(.minutes(1))) struct ReplayTests {
    static let workflow = TestNodes.workflow + """

    triggers:
      - {name: urgent-to-l2, on: ticket.created, if: {priority: urgent}, then: [{escalate: next_line}]}
    """

    /// A node's data after creates, comments, a macro and an SLA breach, then stopped.
    func writtenData() async throws -> String {
        let clock = VirtualClock(start: Instant(iso8601: "2027-01-04T09:00:00Z")!)
        let (node, dir) = try await TestNodes.open(source: Self.workflow, clock: clock)
        for n in 1...20 {
            let draft = NewTicket(id: "", subject: "T\(n)", requester: Requester(name: "R", email: "r\(n)@example.com"),
                                  priority: n % 4 == 0 ? .urgent : .normal)
            let (ticket, _) = try await node.create(draft, idempotencyKey: nil)
            clock.advance(by: .minutes(1))
            if n % 2 == 0 { _ = try await node.execute(.comment(ticket: ticket.id, author: .agent, authorName: "bob", isPublic: true, body: "hi")) }
            if n % 5 == 0 { _ = try await node.execute(.applyMacro(ticket: ticket.id, macro: "ask", by: Cause(.agent, "carol"))) }
        }
        clock.advance(by: .hours(2))
        try await node.flush()
        _ = try await node.execute(.comment(ticket: "1", author: .agent, authorName: "bob", isPublic: false, body: "late"))
        try await node.flush()
        return dir
    }

    @Test func everyJournalRebuildsItsSnapshot() async throws {
        let dir = try await writtenData()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store(path: dir + "/ticketflow.sqlite", durability: .normal)
        let report = try JournalCheck.run(store: store)
        #expect(report.tickets == 20 && report.events > 100)
        #expect(report.findings.isEmpty, "\(report.findings)")
        #expect(try JournalCheck.run(store: store, ticket: "7").tickets == 1)
    }

    /// A snapshot that no longer matches its journal is found, named and described.
    @Test func aSnapshotThatDisagreesWithItsJournalIsReported() async throws {
        let dir = try await writtenData()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Ticket 3's snapshot replaced by ticket 4's (another subject, priority and line).
        let db = try DatabaseQueue(path: dir + "/ticketflow.sqlite")
        try await db.write { try $0.execute(sql: "UPDATE ticket SET body = (SELECT body FROM ticket WHERE id = '4') WHERE id = '3'") }
        try await db.write { try $0.execute(sql: "UPDATE event SET ticket = 'ghost' WHERE ticket = '5'") }
        let report = try JournalCheck.run(store: try Store(path: dir + "/ticketflow.sqlite", durability: .normal))
        let problems = report.findings.map(\.description)
        #expect(problems.count == 3, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("ticket 3: the journal rebuilds another ticket than the snapshot: id: journal 3, snapshot 4; subject: journal T3, snapshot T4") })
        #expect(problems.contains("ticket 5: a snapshot without any journal"))
        #expect(problems.contains { $0.hasPrefix("ticket ghost: the journal does not begin") || $0.hasPrefix("ticket ghost: a journal of") })
    }

    /// `why` from the data directory: the create's trigger evaluated with the values it saw,
    /// the macro's reply by the agent who applied it, the breach at its instant.
    @Test func whyReadsTheDataDirectory() async throws {
        let dir = try await writtenData()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store(path: dir + "/ticketflow.sqlite", durability: .normal)
        let workflows = try RecordedWorkflows.load(from: store)
        #expect(workflows.keys.sorted() == ["test@1"])
        let urgent = TicketExplainer.explain(try store.events(of: "4"), workflows: workflows)
        let fired = try #require(urgent.steps.first?.rules.first { $0.name == "urgent-to-l2" })
        #expect(fired.outcome == .fired && fired.condition?.held == true && fired.did == ["line: 0 → 1, queue second-line"])
        let macro = TicketExplainer.explain(try store.events(of: "5"), workflows: workflows)
        #expect(macro.steps.contains { $0.cause == "agent:carol" && $0.happened.contains("public comment by agent carol") && $0.raised.contains("ticket.commented") })
        let breached = TicketExplainer.explain(try store.events(of: "1"), workflows: workflows, rule: "p")
        #expect(breached.steps.contains { $0.happened.contains("SLA p/first_reply breached") && $0.raised == ["sla.breach"] })
        #expect(breached.steps.allSatisfy { $0.rules.map(\.name) == ["p"] })
    }
}
