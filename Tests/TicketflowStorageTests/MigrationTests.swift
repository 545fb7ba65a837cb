import Foundation
import GRDB
import Testing
@testable import TicketflowStorage

/// A data directory written by an earlier version opens with the current one.
@Suite struct MigrationTests {
    @Test func aVersionOneFileLosesItsTimerTableAndKeepsEverythingElse() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-migrate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ticketflow.sqlite"
        do {
            let old = try DatabaseQueue(path: path)
            try Store.migrator.migrate(old, upTo: "v1")
            try old.write { db in
                try db.execute(sql: "INSERT INTO timer (ticket, id, due) VALUES ('1', 'sla/p/first_reply/breach', 42)")
                try db.execute(sql: "INSERT INTO idempotency (key, ticket) VALUES ('k', '1')")
            }
        }
        let store = try Store(path: path)
        let tables = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") }
        #expect(!tables.contains("timer") && tables.contains("ticket") && tables.contains("event") && tables.contains("command_key"))
        #expect(try store.create(forIdempotencyKey: "k") == KeyedCreate(ticket: "1", request: nil))
        #expect(try store.create(forIdempotencyKey: "other") == nil)
        // Opening it again runs nothing twice.
        _ = try Store(path: path)
    }
}
