import Foundation
import GRDB
import TicketflowCore

/// Reading the journal whole, for `ticketflow replay` and `ticketflow why`.
extension Store {
    /// Every workflow the node ever activated, oldest first: the versions events name.
    public func workflowActivations() throws -> [WorkflowActivation] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT label, source, origin, activated FROM workflow ORDER BY version").map {
                WorkflowActivation(label: $0["label"], source: $0["source"], origin: WorkflowOrigin(stored: $0["origin"]), at: Instant(millis: $0["activated"]))
            }
        }
    }

    /// One ticket's stored snapshot and journal, or each ticket's in turn (in number order) when
    /// `ticket` is nil; then, with a nil snapshot, any ticket that has events but no snapshot.
    /// One read transaction: a node writing meanwhile is not seen half-way.
    public func forEachJournal(ticket: String? = nil, _ body: (_ id: String, _ snapshot: Ticket?, _ events: [Event]) throws -> Void) throws {
        try pool.read { db in
            let events = try db.makeStatement(sql: "SELECT body FROM event WHERE ticket = ? ORDER BY seq")
            func journal(_ id: String) throws -> [Event] {
                try Data.fetchAll(events, arguments: [id]).map(Blob.event)
            }
            if let ticket {
                let snapshot = try Data.fetchOne(db, sql: "SELECT body FROM ticket WHERE id = ?", arguments: [ticket]).map(Blob.ticket)
                let found = try journal(ticket)
                if snapshot != nil || !found.isEmpty { try body(ticket, snapshot, found) }
                return
            }
            let rows = try Row.fetchCursor(db, sql: "SELECT id, body FROM ticket ORDER BY number")
            while let row = try rows.next() {
                let id: String = row[0]
                try body(id, try Blob.ticket(row[1]), try journal(id))
            }
            let orphans = try String.fetchAll(db, sql: "SELECT DISTINCT ticket FROM event WHERE ticket NOT IN (SELECT id FROM ticket)")
            for id in orphans { try body(id, nil, try journal(id)) }
        }
    }
}
