import Foundation
import Testing
import TicketflowCore
import TicketflowRuntime
import TicketflowStorage
import TicketflowTesting
import TicketflowWorkflow
@testable import TicketflowNode

/// The node's timers on both clocks: the same state machine fires them when a virtual clock
/// is moved and, through the timer loop, when real time passes.
@Suite(.timeLimit(.minutes(1))) struct NodeTimerTests {
    static let text = """
    workflow: timers
    lines: [{name: L1, queue: q1}]
    sla:
      - {name: p, calendar: 24x7, targets: {first_reply: 10m}}
    triggers:
      - {name: remind, on: ticket.created, if: {tags: remind}, then: [{follow_up: {after: 1s, note: ping}}]}
    """

    func draft(tags: [String] = []) -> NewTicket {
        NewTicket(id: "", subject: "s", requester: Requester(name: "n", email: "e@x"), tags: tags)
    }

    @Test func firesTimersOnTheVirtualClock() async throws {
        let clock = VirtualClock(start: Instant(iso8601: "2027-01-04T09:00:00Z")!)
        let (node, dir) = try await TestNodes.open(source: Self.text, clock: clock)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (ticket, _) = try await node.create(draft(), idempotencyKey: nil)
        #expect(await node.pendingTimers == 1)
        clock.advance(by: .minutes(9))
        try await node.flush()
        #expect(try await node.ticket(ticket.id)?.slaClocks["p/first_reply"]?.isBreached == false)
        clock.advance(by: .minutes(1))
        // Any request fires what is due before it is decided.
        _ = try await node.execute(.comment(ticket: ticket.id, author: .agent, authorName: "bob", isPublic: false, body: "note"))
        #expect(try await node.ticket(ticket.id)?.slaClocks["p/first_reply"]?.isBreached == true)
        #expect(await node.pendingTimers == 0)
    }

    @Test func passivatedTicketComesBackForItsTimer() async throws {
        let clock = VirtualClock(start: Instant(iso8601: "2027-01-04T09:00:00Z")!)
        let (node, dir) = try await TestNodes.open(source: Self.text, clock: clock)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (ticket, _) = try await node.create(draft(), idempotencyKey: nil)
        await node.setPassivation(after: .minutes(1))
        clock.advance(by: .minutes(2))
        await node.passivateNow()
        #expect(await node.inMemoryTicket(ticket.id) == nil)
        clock.advance(by: .minutes(10))
        try await node.flush()   // fires the breach: the machine asks for the ticket, the shell reads it
        #expect(await node.inMemoryTicket(ticket.id)?.slaClocks["p/first_reply"]?.isBreached == true)
        #expect(try await node.events(of: ticket.id)?.contains { $0.change == .slaBreached(key: "p/first_reply") } == true)
    }

    @Test func timerLoopFiresInRealTime() async throws {
        let seen = EventLog()
        let (node, dir) = try await TestNodes.open(source: Self.text, clock: SystemClock(), observer: seen)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let loop = Task { await node.runTimers() }
        defer { loop.cancel() }
        let created = Date()
        _ = try await node.create(draft(tags: ["remind"]), idempotencyKey: nil)
        // The follow-up is due in 1 s; wait for it with a bound, never forever.
        var due = false
        for _ in 0..<100 where !due {
            try await Task.sleep(for: .milliseconds(50))
            due = seen.contains { if case .followUpDue = $0.change { return true } else { return false } }
        }
        #expect(due)
        #expect(Date().timeIntervalSince(created) >= 0.99)
    }
}

/// Events the node reports, collected for the test.
final class EventLog: NodeObserver, @unchecked Sendable {
    // @unchecked Sendable: `events` is only touched while holding `lock`.
    private let lock = NSLock()
    private var events: [Event] = []
    func accepted(_ batch: [Event]) { lock.withLock { events += batch } }
    func rejected(_ code: String) {}
    func committed(batchEvents: Int, seconds: Double) {}
    func contains(where predicate: (Event) -> Bool) -> Bool { lock.withLock { events.contains(where: predicate) } }
}
