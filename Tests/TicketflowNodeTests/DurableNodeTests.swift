import Foundation
import Testing
import TicketflowCore
import TicketflowRuntime
import TicketflowWorkflow
import TicketflowStorage
@testable import TicketflowNode

@Suite(.timeLimit(.minutes(1))) struct DurableNodeTests {
    static let source = """
    workflow: durable
    version: 1
    statuses: [new, open, solved, closed]
    lines: [{name: L1, queue: q1}, {name: L2, queue: q2}]
    sla:
      - {name: p, calendar: 24x7, targets: {first_reply: 1h}, on_breach: [{escalate: next_line}]}
    automations:
      - {name: close, if: {since: {solved: 1d}}, then: [{set: {status: closed}}]}
    """

    func temporaryStore() throws -> (Store, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return (try Store(path: dir + "/ticketflow.sqlite"), dir)
    }

    func open(_ store: Store, clock: VirtualClock) throws -> DurableNode {
        let workflow = try #require(WorkflowLoader.load(text: Self.source).workflow)
        return try DurableNode(store: store, defaultWorkflow: (workflow, Self.source, .file("test.yaml")), clock: clock)
    }

    func draft() -> NewTicket {
        NewTicket(id: "", subject: "Printer", requester: Requester(name: "Ann", email: "ann@example.com"))
    }

    @Test func fullDurabilityIsInForce() throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(store.durability == .full)
    }

    @Test func restartRecoversTicketsAgentsAndTimersAndFiresOverdueTimersOnce() async throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t0 = Instant(iso8601: "2027-01-04T09:00:00Z")!
        let clock = VirtualClock(start: t0)
        let first = try open(store, clock: clock)
        _ = try await first.start()
        try await first.upsert(Agent(id: "bob", name: "Bob", line: "L2", presence: .online))
        let (t1, replayed) = try await first.create(draft(), idempotencyKey: "k1")
        #expect(!replayed && t1.id == "1")
        let (again, replayedAgain) = try await first.create(draft(), idempotencyKey: "k1")
        #expect(replayedAgain && again.id == "1")
        _ = try await first.create(draft(), idempotencyKey: nil)
        _ = try await first.execute(.comment(ticket: "2", author: .agent, authorName: "bob", isPublic: false, body: "note"))

        // "Crash": drop the node, move time past the breach, open a new node on the same file.
        clock.advance(by: .hours(2))
        let reopened = try Store(path: store.path)
        let second = try open(reopened, clock: clock)
        let overdue = try await second.start()
        #expect(overdue == 2)   // both tickets' first-reply breaches, each once
        let t = try #require(try await second.ticket("1"))
        #expect(t.line == 1 && t.assignee == "bob")
        #expect(t.slaClocks["p/first_reply"]?.isBreached == true)
        let journal = try reopened.events(of: "1")
        let firedLate = journal.filter { if case .timerFired(_, let late) = $0.change { return late == .hours(1) } else { return false } }
        #expect(firedLate.count == 1)
        #expect(try await second.ticket("2")?.comments.count == 1)
        #expect(await second.agent("bob")?.presence == .online)
        // The idempotency key survived the restart too.
        let (replay, wasReplay) = try await second.create(draft(), idempotencyKey: "k1")
        #expect(wasReplay && replay.id == "1")
        // … and refuses another request under it, from storage as from memory.
        await #expect(throws: NodeError.self) { _ = try await second.create(draft(), idempotencyKey: "k1", request: "other") }
        let (t3, _) = try await second.create(draft(), idempotencyKey: nil)
        #expect(t3.id == "3")
        // A third start fires nothing again.
        let third = try open(try Store(path: store.path), clock: clock)
        #expect(try await third.start() == 0)
    }

    @Test func rejectedCommandsChangeNothingOnDisk() async throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let node = try open(store, clock: VirtualClock(start: Instant(iso8601: "2027-01-04T09:00:00Z")!))
        _ = try await node.start()
        _ = try await node.create(draft(), idempotencyKey: nil)
        let before = try store.events(of: "1").count
        await #expect(throws: NodeError.self) { _ = try await node.execute(.setStatus(ticket: "1", status: "bogus", by: .api)) }
        await #expect(throws: NodeError.self) { _ = try await node.execute(.setStatus(ticket: "99", status: "open", by: .api)) }
        #expect(try store.events(of: "1").count == before)
    }

    @Test func badWorkflowIsRefusedAndTheOldOneStays() async throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = VirtualClock(start: Instant(iso8601: "2027-01-04T09:00:00Z")!)
        let node = try open(store, clock: clock)
        _ = try await node.start()
        do {
            _ = try await node.replaceWorkflow(source: "workflow: x\nlines: []\nstatuses: [new, nope\n")
            Issue.record("a broken workflow was accepted")
        } catch NodeError.invalidWorkflow(let diagnostics) {
            #expect(!diagnostics.isEmpty)
        }
        #expect(await node.workflow.label == "durable@1")
        // A good replacement survives a restart.
        let v2 = Self.source.replacingOccurrences(of: "version: 1", with: "version: 2")
        _ = try await node.replaceWorkflow(source: v2)
        let reopened = try open(try Store(path: store.path), clock: clock)
        #expect(await reopened.workflow.label == "durable@2")
    }

    @Test func solvedIdleTicketsArePassivatedAndComeBack() async throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t0 = Instant(iso8601: "2027-01-04T09:00:00Z")!
        let clock = VirtualClock(start: t0)
        let node = try open(store, clock: clock)
        _ = try await node.start()
        _ = try await node.create(draft(), idempotencyKey: nil)
        _ = try await node.execute(.setStatus(ticket: "1", status: "solved", by: .api))
        #expect(await node.activeTickets == 1)
        clock.advance(by: .minutes(20))
        await node.passivateNow()
        #expect(await node.activeTickets == 0)
        // Its auto-close timer is still pending and brings it back when due.
        clock.advance(by: .days(1))
        _ = try await node.create(draft(), idempotencyKey: nil)   // any command fires due timers first
        try await node.flush()
        #expect(try store.ticket("1")?.status == "closed")
    }

    @Test func idleOpenTicketsLeaveMemoryYetWaitAreRoutedTimedAndListed() async throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t0 = Instant(iso8601: "2027-01-04T09:00:00Z")!
        let clock = VirtualClock(start: t0)
        let node = try open(store, clock: clock)
        _ = try await node.start()
        for _ in 1...3 { _ = try await node.create(draft(), idempotencyKey: nil) }
        clock.advance(by: .minutes(20))
        await node.passivateNow()
        #expect(await node.activeTickets == 0)
        // Still waiting in their queue, listed from their snapshots.
        #expect(try await node.queueContents("q1").map(\.ticket.id) == ["1", "2", "3"])

        // An agent comes online: routing brings two of them back and assigns them.
        try await node.upsert(Agent(id: "ann", name: "Ann", line: "L1", capacity: 2, presence: .online))
        #expect(try await node.ticket("1")?.assignee == "ann")
        #expect(try await node.ticket("2")?.assignee == "ann")
        #expect(try await node.ticket("3")?.assignee == nil)
        #expect(await node.load(of: "ann") == 2)
        clock.advance(by: .minutes(20))
        await node.passivateNow()
        #expect(try await node.openTickets(of: "ann").map(\.id) == ["1", "2"], "listed from storage too")

        // Their first-reply breaches fall due while they are on disk: each comes back and
        // escalates to L2 (ann's two leave her), and ann takes the next new ticket.
        clock.advance(by: .hours(1))
        _ = try await node.create(draft(), idempotencyKey: nil)   // any command fires due timers first
        for id in ["1", "2", "3"] {
            let t = try #require(try await node.ticket(id))
            #expect(t.line == 1 && t.assignee == nil, "ticket \(id)")
        }
        #expect(try await node.ticket("4")?.assignee == "ann")
        try await node.flush()

        // A restart puts everything back from the small columns, without any snapshot in memory.
        let again = try open(try Store(path: store.path), clock: clock)
        #expect(await again.activeTickets == 0)
        #expect(await again.load(of: "ann") == 1)
        #expect(try await again.queueContents("q2").map(\.ticket.id) == ["1", "2", "3"])
        #expect(try await again.queueContents("q1").isEmpty)
        _ = try await again.start()
        try await again.upsert(Agent(id: "bob", name: "Bob", line: "L2", presence: .online))
        for id in ["1", "2", "3"] { #expect(try await again.ticket(id)?.assignee == "bob") }
        #expect(try await again.openTickets(of: "ann").map(\.id) == ["4"])
        #expect(try await again.openTickets(of: "bob").map(\.id) == ["1", "2", "3"])
    }

    @Test func aKeyedCommandRunsOnceAcrossRetriesAndRestarts() async throws {
        let (store, dir) = try temporaryStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = VirtualClock(start: Instant(iso8601: "2027-01-04T09:00:00Z")!)
        let first = try open(store, clock: clock)
        _ = try await first.start()
        let id = try await first.create(draft(), idempotencyKey: nil).ticket.id
        let escalate = Command.escalate(ticket: id, to: nil, by: .api)
        let note = Command.comment(ticket: id, author: .agent, authorName: "bob", isPublic: false, body: "called the customer")

        let (escalated, replayed) = try await first.execute(escalate, idempotencyKey: "esc-1", request: "r-esc")
        #expect(!replayed && escalated.line == 1)
        let (again, replayedAgain) = try await first.execute(escalate, idempotencyKey: "esc-1", request: "r-esc")
        #expect(replayedAgain && again.line == 1, "a retry does not escalate a second line")
        _ = try await first.execute(note, idempotencyKey: "note-1", request: "r-note")
        // Two retries at once: the second arrives while the first may still be committing.
        async let a = first.execute(note, idempotencyKey: "note-2", request: "r-note")
        async let b = first.execute(note, idempotencyKey: "note-2", request: "r-note")
        let both = try await [a.replayed, b.replayed]
        #expect(both.sorted { !$0 && $1 } == [false, true], "exactly one of two racing retries runs: \(both)")
        await #expect(throws: NodeError.self, "the same key with another request is refused") {
            try await first.execute(note, idempotencyKey: "esc-1", request: "r-note")
        }
        // A key belongs to its ticket: the same key on another ticket is another request.
        let other = try await first.create(draft(), idempotencyKey: nil).ticket.id
        #expect(try await first.execute(.escalate(ticket: other, to: nil, by: .api), idempotencyKey: "esc-1", request: "r-esc").replayed == false)
        // A rejected command records nothing: the key stays free.
        await #expect(throws: NodeError.self) {
            try await first.execute(.escalate(ticket: id, to: "L9", by: .api), idempotencyKey: "esc-bad", request: "r-bad")
        }
        for key in ["esc-1", "note-1", "note-2"] { #expect(try store.request(forCommandKey: CommandKey(ticket: id, key: key)) != nil, "\(key)") }
        #expect(try store.request(forCommandKey: CommandKey(ticket: other, key: "esc-1")) == "r-esc")
        #expect(try store.request(forCommandKey: CommandKey(ticket: id, key: "esc-bad")) == nil)

        // After a restart the keys are still known.
        let second = try open(try Store(path: store.path), clock: clock)
        _ = try await second.start()
        let (afterRestart, replayedAfterRestart) = try await second.execute(note, idempotencyKey: "note-1", request: "r-note")
        #expect(replayedAfterRestart && afterRestart.comments.filter { $0.body == "called the customer" }.count == 2)
        #expect(try await second.execute(escalate, idempotencyKey: "esc-1", request: "r-esc").ticket.line == 1)
        #expect(try await second.execute(.deescalate(ticket: id, to: nil, by: .api), idempotencyKey: "de-1", request: "r-de").ticket.line == 0,
                "a new key runs")
    }
}
