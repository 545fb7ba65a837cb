import Foundation
import Testing
import TicketflowCore
@testable import TicketflowStorage

/// A ticket's number is written once, when the batch that creates it commits; later
/// changes keep it, and a change to a ticket that was never created is refused.
@Suite struct TicketNumberStorageTests {
    private func ticket(_ id: String, status: String = "new") -> Ticket {
        Ticket(id: id, subject: "s", description: "", requester: Requester(name: "n", email: "e"), channel: .web,
               priority: .low, status: status, createdAt: Instant(millis: 0))
    }

    @Test func aTicketKeepsTheNumberItWasCreatedWith() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-number-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store(path: dir + "/node.sqlite")

        var create = CommitBatch()
        create.tickets["42"] = ticket("42")
        create.ticketNumbers["42"] = TicketNumber(42)
        try await store.commit(create)

        var change = CommitBatch()
        change.tickets["42"] = ticket("42", status: "open")
        try await store.commit(change)
        let rows = try store.tickets(matching: TicketFilter(), now: Instant(millis: 0))
        #expect(rows.map(\.number) == [42])
        #expect(rows.first?.ticket.status == "open")

        var orphan = CommitBatch()
        orphan.tickets["43"] = ticket("43")
        await #expect(throws: Store.StoreError.self) { try await store.commit(orphan) }
        #expect(try store.ticket("43") == nil)
        #expect(try Store(path: dir + "/node.sqlite").recover().lastTicketNumber == TicketNumber(42))
    }
}
