import Foundation
import GRDB
import Testing
import TicketflowCore
import TicketflowNode
@testable import TicketflowReplay
import TicketflowRuntime
import TicketflowStorage
import TicketflowTesting
import TicketflowWorkflow

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

    /// Replaying the recorded commands through the recorded workflow rebuilds what the node
    /// decided: the commands read back from the journal are the ones it was given.
    @Test func theRecordedCommandsReplayToTheSameTickets() async throws {
        let dir = try await writtenData()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store(path: dir + "/ticketflow.sqlite", durability: .normal)
        let workflow = try #require(try RecordedWorkflows.load(from: store)["test@1"])
        var commands: [RecordedCommands.Recorded] = []
        var stored: [String: Ticket] = [:]
        try store.forEachJournal { id, snapshot, events in
            commands += RecordedCommands.read(events, lines: workflow.lines.map(\.name))
            stored[id] = snapshot
        }
        // 20 creates, 10 comments, 4 macros and the late private note.
        #expect(commands.count == 35)
        #expect(commands.filter { if case .applyMacro(_, "ask", Cause(.agent, "carol")) = $0.command { return true } else { return false } }.count == 4)
        let ordered = commands.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        let replayed = WhatIf.Outcome.replay(ordered, workflow: workflow, until: ordered.last!.at)
        #expect(replayed.rejected == 0)
        for (id, ticket) in stored {
            let outcome = try #require(replayed.tickets[id])
            #expect(outcome.status == ticket.status && outcome.queue == ticket.queue, "ticket \(id)")
            #expect(outcome.breached == Set(ticket.slaClocks.filter { $0.value.isBreached }.map(\.key)), "ticket \(id)")
        }
    }

    /// What if every new ticket went to L2, not only urgent ones: 15 more escalations, the
    /// 15 tickets named with what changed for them.
    @Test func whatIfReportsWhatACandidateWouldHaveChanged() async throws {
        let dir = try await writtenData()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store(path: dir + "/ticketflow.sqlite", durability: .normal)
        let recorded = try #require(try RecordedWorkflows.load(from: store)["test@1"])
        let candidateText = Self.workflow.replacingOccurrences(of: "version: 1", with: "version: 2")
            .replacingOccurrences(of: "if: {priority: urgent}", with: "if: {priority: [normal, urgent]}")
        let candidate = try #require(WorkflowLoader.load(text: candidateText).workflow)
        let report = try WhatIf.run(store: store, recorded: recorded, candidate: candidate)
        #expect(report.recordedWorkflow == "test@1" && report.candidateWorkflow == "test@2")
        #expect(report.tickets == 20 && report.commands == 35)
        #expect(report.escalationsIntoLine == [.init(name: "L2", count: .init(recorded: 5, candidate: 20))])
        #expect(report.ticketsChanged == 15 && report.changed.count == 15)
        #expect(report.changed.first == .init(ticket: "1", differences: ["line L1 → L2", "queue first-line → second-line"]))
        #expect(report.text().contains("escalations into line: L2 5 → 20 (+15)"))
        // The same workflow on both sides: nothing differs.
        let same = try WhatIf.run(store: store, recorded: recorded, candidate: recorded)
        #expect(same.ticketsChanged == 0 && same.sla.allSatisfy { $0.met.change == 0 && $0.breached.change == 0 })
        // A window that ends before the last tickets were created leaves them out.
        let window = try WhatIf.run(store: store, recorded: recorded, candidate: candidate,
                                    options: .init(to: Instant(iso8601: "2027-01-04T09:10:00Z")!))
        #expect(window.tickets == 10)
    }
}
