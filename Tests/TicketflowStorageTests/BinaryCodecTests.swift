import Foundation
import Testing
import TicketflowCore
import TicketflowRuntime
import TicketflowWorkflow
@testable import TicketflowStorage

@Suite struct BinaryCodecTests {
    /// Every event of a busy simulated ticket history round-trips exactly, and so does every ticket.
    @Test func eventsAndTicketsRoundTrip() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("workflows/b2c-support.yaml").path
        let workflow = try #require(WorkflowLoader.load(path: path).workflow)
        let t0 = Instant(iso8601: "2027-01-04T09:00:00Z")!
        var node = VirtualNode(workflow: workflow, start: t0)
        node.upsert(Agent(id: "bob", name: "Bob", line: "L2", skills: ["x"], presence: .online))
        node.execute(.create(NewTicket(id: "T1", subject: "Sübject ✓", description: "", requester: Requester(name: "Ann", email: "a@x", organization: "acme"),
                                       channel: .phone, priority: .urgent, type: "bug", tags: ["a", "b"], fields: ["k": "v"], requiredSkills: ["x"])))
        node.execute(.create(NewTicket(id: "T2", subject: "plain", requester: Requester(name: "Ben", email: "b@x"))))
        node.execute(.comment(ticket: "T2", author: .agent, authorName: "bob", isPublic: true, body: "hi"))
        node.execute(.applyMacro(ticket: "T2", macro: "ask-for-logs", by: Cause(.agent, "bob")))
        node.advance(to: t0 + .days(5))
        node.execute(.setStatus(ticket: "T1", status: "solved", by: .api))
        node.advance(to: t0 + .days(10))
        #expect(node.journal.count > 40)
        for event in node.journal {
            #expect(try Blob.event(Blob.encode(event)) == event)
        }
        for ticket in node.center.tickets.values {
            #expect(try Blob.ticket(Blob.encode(ticket)) == ticket)
        }
    }

    @Test func malformedBlobsThrowInsteadOfTrapping() throws {
        let ticket = Ticket(id: "1", subject: "s", description: "", requester: Requester(name: "n", email: "e"), channel: .web,
                            priority: .low, status: "new", createdAt: Instant(millis: 0))
        let good = Blob.encode(ticket)
        for cut in [0, 1, good.count / 2, good.count - 1] {
            #expect(throws: (any Error).self) { _ = try Blob.ticket(good.prefix(cut)) }
        }
        var wrongFormat = good
        wrongFormat[wrongFormat.startIndex] = 99
        #expect(throws: (any Error).self) { _ = try Blob.ticket(wrongFormat) }
        #expect(throws: (any Error).self) { _ = try Blob.event(Data([1, 0xFF, 0xFF, 0xFF])) }
    }
}
