import Foundation
import GRDB
import Testing
import TicketflowCore
import TicketflowRuntime
import TicketflowStorage
import TicketflowTesting
import TicketflowWorkflow
@testable import TicketflowNode

/// What the shell does for the state machine: brings passivated tickets in before they are
/// decided on, and turns a failed read into an error the caller sees.
@Suite(.timeLimit(.minutes(1))) struct NodeShellTests {
    static let source = """
    workflow: shell
    statuses: [new, open, solved]
    lines: [{name: L1, queue: q1}]
    """

    /// Damages a ticket's snapshot behind the node's back: reading it fails from then on.
    func damageSnapshot(of id: String, in dir: String) async throws {
        let raw = try DatabaseQueue(path: dir + "/ticketflow.sqlite")
        try await raw.write { db in try db.execute(sql: "UPDATE ticket SET body = x'00ff' WHERE id = ?", arguments: [id]) }
    }

    func draft(_ subject: String) -> NewTicket {
        NewTicket(id: "", subject: subject, requester: Requester(name: "Ann", email: "ann@example.com"))
    }

    @Test func routingBringsPassivatedWaitingTicketsBackToAssignThem() async throws {
        let clock = VirtualClock(start: Instant(iso8601: "2027-01-04T09:00:00Z")!)
        let (node, dir) = try await TestNodes.open(source: Self.source, clock: clock)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await node.upsert(Agent(id: "bob", name: "Bob", line: "L1", capacity: 2, presence: .offline))
        var ids: [String] = []
        for i in 0..<3 { ids.append(try await node.create(draft("t\(i)"), idempotencyKey: nil).ticket.id) }
        await node.setPassivation(after: .minutes(1))
        clock.advance(by: .minutes(2))
        await node.passivateNow()
        for id in ids { #expect(await node.inMemoryTicket(id) == nil) }
        #expect(await node.waitingCount(in: "q1") == 3)

        // Bob comes online: routing proposes the two oldest, which are on disk only.
        _ = try await node.setPresence("bob", .online)
        #expect(try await node.ticket(ids[0])?.assignee == "bob")
        #expect(try await node.ticket(ids[1])?.assignee == "bob")
        #expect(try await node.ticket(ids[2])?.assignee == nil)
        #expect(await node.load(of: "bob") == 2)
        #expect(await node.waitingCount(in: "q1") == 1)
    }

    @Test func aFailedReadIsAnErrorNotAMissingTicket() async throws {
        let clock = VirtualClock(start: Instant(iso8601: "2027-01-04T09:00:00Z")!)
        let (node, dir) = try await TestNodes.open(source: Self.source, clock: clock)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let id = try await node.create(draft("printer"), idempotencyKey: nil).ticket.id
        await node.setPassivation(after: .minutes(1))
        clock.advance(by: .minutes(2))
        await node.passivateNow()

        try await damageSnapshot(of: id, in: dir)

        let comment = Command.comment(ticket: id, author: .agent, authorName: "bob", isPublic: true, body: "hello")
        await #expect {
            _ = try await node.execute(comment)
        } throws: { error in
            guard case NodeError.unavailable(let why) = error else { return false }
            return why.contains("storage could not be read")
        }
        await #expect {
            _ = try await node.ticket(id)
        } throws: { error in
            if case NodeError.unavailable = error { return true } else { return false }
        }
        // A ticket that does not exist is still "not found".
        await #expect {
            _ = try await node.execute(.comment(ticket: "999", author: .agent, authorName: "bob", isPublic: true, body: "x"))
        } throws: { error in
            if case NodeError.notFound("999") = error { return true } else { return false }
        }
    }

    @Test func anUnreadableTicketWithADueTimerDoesNotStopOtherRequests() async throws {
        let source = Self.source + "\nsla:\n  - {name: p, calendar: 24x7, targets: {first_reply: 1h}}\n"
        let clock = VirtualClock(start: Instant(iso8601: "2027-01-04T09:00:00Z")!)
        let (node, dir) = try await TestNodes.open(source: source, clock: clock)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let broken = try await node.create(draft("broken"), idempotencyKey: nil).ticket.id
        let fine = try await node.create(draft("fine"), idempotencyKey: nil).ticket.id
        await node.setPassivation(after: .minutes(1))
        clock.advance(by: .minutes(2))
        await node.passivateNow()
        try await damageSnapshot(of: broken, in: dir)

        // Both breaches fall due; the broken ticket's cannot fire, the other's does, and a
        // command on the readable ticket goes through.
        clock.advance(by: .hours(1))
        let after = try await node.execute(.comment(ticket: fine, author: .agent, authorName: "bob", isPublic: false, body: "note"))
        #expect(after.comments.count == 1)
        #expect(after.slaClocks["p/first_reply"]?.isBreached == true)
        #expect(await node.pendingTimers == 1)   // the broken ticket's breach waits to be tried again
    }
}
