import Foundation
import Testing
import TicketflowCore
import TicketflowRuntime
import TicketflowStorage
import TicketflowTesting
import TicketflowWorkflow
@testable import TicketflowNode

/// A data directory written before the node shell was rebuilt opens after it: the fixture is
/// the SQLite file of a node run by commit 7b40858 (three tickets, one solved, two assigned to
/// Bob, keyed creates fx-1…fx-3, a keyed comment c1 on ticket 1, a private note on ticket 2).
@Suite(.timeLimit(.minutes(1))) struct OlderDataTests {
    @Test func aDataDirectoryWrittenByTheEarlierNodeOpens() async throws {
        let dir = try TestSupport.temporaryDirectory("tf-older")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/written-by-7b40858.sqlite").path
        try FileManager.default.copyItem(atPath: fixture, toPath: dir + "/ticketflow.sqlite")
        let path = TestSupport.packageRoot + "/workflows/b2c-support.yaml"
        let source = try String(contentsOfFile: path, encoding: .utf8)
        let workflow = try #require(WorkflowLoader.load(path: path).workflow)
        let clock = VirtualClock(start: Instant(iso8601: "2026-12-04T04:00:00Z")!)
        let node = try DurableNode(store: try Store(path: dir + "/ticketflow.sqlite"), defaultWorkflow: (workflow, source, .file(path)), clock: clock)
        _ = try await node.start()

        #expect(try await node.ticket("1")?.status == "solved")
        #expect(try await node.ticket("2")?.assignee == "bob")
        #expect(try await node.ticket("2")?.comments.first?.body == "internal note")
        #expect(try await node.ticket("3")?.assignee == "bob")
        #expect(await node.agent("bob")?.capacity == 2)
        #expect(await node.load(of: "bob") == 2)
        // Keys written then still settle retries.
        let retried = try await node.create(NewTicket(id: "", subject: "Printer 2", requester: Requester(name: "Ann", email: "ann@example.com")),
                                            idempotencyKey: "fx-2")
        #expect(retried.replayed && retried.ticket.id == "2")
        let fresh = try await node.create(NewTicket(id: "", subject: "New", requester: Requester(name: "Ann", email: "ann@example.com")),
                                          idempotencyKey: "fx-4")
        #expect(!fresh.replayed && fresh.ticket.id == "4")
        // The journal reads back, and new events follow it.
        let before = try #require(try await node.events(of: "2")).count
        _ = try await node.execute(.comment(ticket: "2", author: .agent, authorName: "bob", isPublic: true, body: "on it"))
        #expect(try #require(try await node.events(of: "2")).count > before)
    }
}
