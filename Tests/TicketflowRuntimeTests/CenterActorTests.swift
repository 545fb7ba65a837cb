import Foundation
import Testing
import TicketflowCore
import TicketflowWorkflow
@testable import TicketflowRuntime

@Suite struct CenterActorTests {
    static let text = """
    workflow: actor
    lines: [{name: L1, queue: q1}]
    sla:
      - {name: p, calendar: 24x7, targets: {first_reply: 10m}}
    triggers:
      - {name: remind, on: ticket.created, if: {tags: remind}, then: [{follow_up: {after: 1s, note: ping}}]}
    """

    func newTicket(_ id: String, tags: [String] = []) -> Command {
        .create(NewTicket(id: id, subject: "s", requester: Requester(name: "n", email: "e@x"), tags: tags))
    }

    @Test func firesTimersOnTheVirtualClock() async throws {
        let workflow = try #require(WorkflowLoader.load(text: Self.text).workflow)
        let t0 = Instant(iso8601: "2027-01-04T09:00:00Z")!
        let clock = VirtualClock(start: t0)
        let actor = CenterActor(workflow: workflow, clock: clock)
        _ = try await actor.execute(newTicket("T1")).get()
        #expect(await actor.pendingTimers == 1)
        clock.advance(by: .minutes(9))
        #expect(await actor.fireDueTimers().isEmpty)
        clock.advance(by: .minutes(1))
        let fired = await actor.fireDueTimers()
        #expect(fired.contains { $0.change == .slaBreached(key: "p/first_reply") })
        #expect(await actor.ticket("T1")?.slaClocks["p/first_reply"]?.isBreached == true)
        #expect(await actor.pendingTimers == 0)
    }

    @Test func timerLoopFiresInRealTime() async throws {
        let workflow = try #require(WorkflowLoader.load(text: Self.text).workflow)
        let seen = EventLog()
        let actor = CenterActor(workflow: workflow, clock: SystemClock()) { seen.append($0) }
        let loop = Task { await actor.runTimers() }
        defer { loop.cancel() }
        let created = Date()
        _ = try await actor.execute(newTicket("T1", tags: ["remind"])).get()
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

/// Events handed to the sink, collected for the test.
final class EventLog: @unchecked Sendable {
    // @unchecked Sendable: `events` is only touched while holding `lock`.
    private let lock = NSLock()
    private var events: [Event] = []
    func append(_ batch: [Event]) { lock.withLock { events += batch } }
    func contains(where predicate: (Event) -> Bool) -> Bool { lock.withLock { events.contains(where: predicate) } }
}
