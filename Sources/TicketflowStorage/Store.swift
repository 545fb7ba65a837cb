import Foundation
import GRDB
import Synchronization
import TicketflowCore

/// How hard a commit presses data to disk.
public enum Durability: String, Sendable, CaseIterable {
    /// `synchronous = FULL`: a commit survives a power loss. The default.
    case full
    /// `synchronous = NORMAL` (WAL): survives a process crash; the last commits may roll back on power loss.
    case normal
}

/// Everything one group commit writes, in one transaction.
public struct CommitBatch: Sendable {
    public var events: [Event] = []
    /// The state of each changed ticket after this batch's events: its snapshot.
    public var tickets: [String: Ticket] = [:]
    public var ticketNumbers: [String: Int64] = [:]
    public var idempotencyKeys: [String: String] = [:]
    public var agents: [String: Agent] = [:]
    public var workflow: WorkflowActivation?

    public init() {}
    public var isEmpty: Bool { events.isEmpty && agents.isEmpty && workflow == nil && idempotencyKeys.isEmpty }
}

/// A workflow that became active, and where it came from.
public struct WorkflowActivation: Sendable, Equatable {
    public var label: String
    public var source: String
    /// `file:PATH` or `api`.
    public var origin: String
    public var at: Instant

    public init(label: String, source: String, origin: String, at: Instant) {
        self.label = label; self.source = source; self.origin = origin; self.at = at
    }
}

/// What a restart finds on disk.
public struct RecoveredState: Sendable {
    public var tickets: [Ticket] = []
    public var ticketNumbers: [String: Int64] = [:]
    public var agents: [Agent] = []
    public var idempotencyKeys: [String: String] = [:]
    public var workflow: WorkflowActivation?
    public var lastTicketNumber: Int64 = 0
    public var events: Int64 = 0
}

/// The node's SQLite file (events and snapshots in the binary form of `Blob`): an append-only journal, per-ticket snapshots that double as the
/// query index, the outbox, agents, idempotency keys and workflow history.
///
/// Snapshots are written in the same transaction as the events that produced them, so a
/// restart loads snapshots and has no journal tail to replay; the journal stays the full
/// audit history (and, later, the replication stream).
public final class Store: Sendable {
    public let path: String
    public let durability: Durability
    let pool: DatabasePool

    public init(path: String, durability: Durability = .full) throws {
        self.path = path
        self.durability = durability
        var config = Configuration()
        config.busyMode = .timeout(5)
        pool = try DatabasePool(path: path, configuration: config)
        // DatabasePool sets synchronous=NORMAL after prepareDatabase, so FULL is set here,
        // on the writer connection, and checked.
        let wanted = durability == .full ? 2 : 1
        let actual = try pool.writeWithoutTransaction { db -> Int in
            try db.execute(sql: "PRAGMA synchronous = \(wanted)")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
        }
        guard actual == wanted else { throw StoreError.durability("synchronous is \(actual), wanted \(wanted)") }
        try Store.migrator.migrate(pool)
    }

    public enum StoreError: Error, CustomStringConvertible {
        case durability(String)
        case corrupt(String)
        public var description: String {
            switch self {
            case .durability(let m): return "cannot set durability: \(m)"
            case .corrupt(let m): return "data directory is damaged: \(m)"
            }
        }
    }

    static let migrator: DatabaseMigrator = {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
            CREATE TABLE event (seq INTEGER PRIMARY KEY AUTOINCREMENT, ticket TEXT NOT NULL, version INTEGER NOT NULL,
                                at INTEGER NOT NULL, body BLOB NOT NULL);
            CREATE INDEX event_ticket ON event(ticket, version);
            CREATE TABLE ticket (id TEXT PRIMARY KEY, number INTEGER NOT NULL UNIQUE, status TEXT NOT NULL, line TEXT NOT NULL,
                                 queue TEXT NOT NULL, assignee TEXT, priority TEXT NOT NULL, created INTEGER NOT NULL,
                                 updated INTEGER NOT NULL, sla_due INTEGER, sla_breached INTEGER NOT NULL DEFAULT 0,
                                 version INTEGER NOT NULL, body BLOB NOT NULL);
            CREATE INDEX ticket_status ON ticket(status, number);
            CREATE INDEX ticket_queue ON ticket(queue, number);
            CREATE INDEX ticket_assignee ON ticket(assignee, number);
            CREATE TABLE timer (ticket TEXT NOT NULL, id TEXT NOT NULL, due INTEGER NOT NULL, PRIMARY KEY (ticket, id)) WITHOUT ROWID;
            CREATE INDEX timer_due ON timer(due);
            CREATE TABLE outbox (id TEXT PRIMARY KEY, ticket TEXT NOT NULL, recipient TEXT NOT NULL, template TEXT NOT NULL,
                                 body TEXT NOT NULL, created INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                                 next_attempt INTEGER NOT NULL, delivered INTEGER, last_error TEXT);
            CREATE INDEX outbox_pending ON outbox(delivered, next_attempt);
            CREATE TABLE agent (id TEXT PRIMARY KEY, body BLOB NOT NULL);
            CREATE TABLE idempotency (key TEXT PRIMARY KEY, ticket TEXT NOT NULL);
            CREATE TABLE workflow (version INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT NOT NULL, source TEXT NOT NULL,
                                   origin TEXT NOT NULL, activated INTEGER NOT NULL);
            """)
        }
        // Pending timers live in each ticket's snapshot (and their changes in the journal),
        // which is what a restart reads; the separate timer index was written five times per
        // created ticket and never read — a third of the node's SQLite work.
        m.registerMigration("v2-timers-in-snapshots-only") { db in
            try db.execute(sql: "DROP INDEX timer_due; DROP TABLE timer;")
        }
        return m
    }()

    // MARK: Writing

    /// Writes a batch in one transaction; returns when it is durable (per `durability`).
    public func commit(_ batch: CommitBatch) async throws {
        let rows = batch.events.map { ($0, Blob.encode($0)) }
        let snapshots = batch.tickets.values.map { ($0, Blob.encode($0)) }
        let encoder = JSONEncoder()
        let agents = try batch.agents.values.map { ($0.id, try encoder.encode($0)) }
        try await pool.write { db in
            let insertEvent = try db.cachedStatement(sql: "INSERT INTO event (ticket, version, at, body) VALUES (?, ?, ?, ?)")
            let addOutbox = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO outbox (id, ticket, recipient, template, body, created, next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            // Each event's version is the ticket's version after it; the snapshot holds the last.
            var counts: [String: Int64] = [:]
            for (event, _) in rows { counts[event.ticket, default: 0] += 1 }
            var versions: [String: Int64] = [:]
            for (ticket, count) in counts { versions[ticket] = Int64(batch.tickets[ticket]?.version ?? Int(count)) - count }
            for (event, body) in rows {
                let version = versions[event.ticket]! + 1
                versions[event.ticket] = version
                try insertEvent.execute(arguments: [event.ticket, version, event.at.millis, body])
                if case .notified(let n) = event.change {
                    try addOutbox.execute(arguments: [n.id, event.ticket, n.recipient, n.template, n.body, event.at.millis, event.at.millis])
                }
            }
            let upsertTicket = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO ticket (id, number, status, line, queue, assignee, priority, created, updated, sla_due,
                                               sla_breached, version, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for (ticket, body) in snapshots {
                guard let number = batch.ticketNumbers[ticket.id] else { throw StoreError.corrupt("no number for ticket \(ticket.id)") }
                let running = ticket.slaClocks.values.filter { $0.isRunning }.compactMap(\.due).min()
                let breached = ticket.slaClocks.values.contains { $0.isBreached && !$0.isStopped }
                try upsertTicket.execute(arguments: [ticket.id, number, ticket.status, String(ticket.line), ticket.queue, ticket.assignee,
                                                     ticket.priority.rawValue, ticket.createdAt.millis, ticket.updatedAt.millis,
                                                     running?.millis, breached ? 1 : 0, ticket.version, body])
            }
            for (key, ticket) in batch.idempotencyKeys {
                try db.execute(sql: "INSERT OR IGNORE INTO idempotency (key, ticket) VALUES (?, ?)", arguments: [key, ticket])
            }
            for (id, body) in agents {
                try db.execute(sql: "INSERT OR REPLACE INTO agent (id, body) VALUES (?, ?)", arguments: [id, body])
            }
            if let w = batch.workflow {
                try db.execute(sql: "INSERT INTO workflow (label, source, origin, activated) VALUES (?, ?, ?, ?)",
                               arguments: [w.label, w.source, w.origin, w.at.millis])
            }
        }
    }

    // MARK: Reading

    /// Everything a restart needs. Tickets come from their snapshots; a snapshot older than
    /// its journal (which commit never writes) is reported as damage rather than guessed at.
    public func recover(includeSolved: Bool = true) throws -> RecoveredState {
        try pool.read { db in
            let decoder = JSONDecoder()
            var state = RecoveredState()
            // Snapshots are read in chunks and each chunk is decoded on every core: decoding is
            // most of a restart's time, reading the rows is not.
            let rows = try Row.fetchCursor(db, sql: "SELECT number, body FROM ticket ORDER BY number")
            var chunk: [(number: Int64, body: Data)] = []
            chunk.reserveCapacity(Store.decodeChunk)
            func decodeChunk() throws {
                for (ticket, number) in zip(try Store.decodeInParallel(chunk.map(\.body)), chunk.map(\.number)) {
                    state.lastTicketNumber = max(state.lastTicketNumber, number)
                    state.ticketNumbers[ticket.id] = number
                    state.tickets.append(ticket)
                }
                chunk.removeAll(keepingCapacity: true)
            }
            while let row = try rows.next() {
                chunk.append((row["number"], row["body"]))
                if chunk.count == Store.decodeChunk { try decodeChunk() }
            }
            try decodeChunk()
            for row in try Row.fetchAll(db, sql: "SELECT body FROM agent ORDER BY id") {
                let data: Data = row["body"]
                state.agents.append(try decoder.decode(Agent.self, from: data))
            }
            for row in try Row.fetchAll(db, sql: "SELECT key, ticket FROM idempotency") {
                state.idempotencyKeys[row["key"]] = row["ticket"]
            }
            if let row = try Row.fetchOne(db, sql: "SELECT label, source, origin, activated FROM workflow ORDER BY version DESC LIMIT 1") {
                state.workflow = WorkflowActivation(label: row["label"], source: row["source"], origin: row["origin"],
                                                    at: Instant(millis: row["activated"]))
            }
            state.events = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM event") ?? 0
            return state
        }
    }

    static let decodeChunk = 16_384

    /// Decodes snapshots on every core, in order; each worker shares repeated strings.
    static func decodeInParallel(_ blobs: [Data]) throws -> [Ticket] {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, blobs.count / 1024 + 1))
        let parts = Mutex<[[Ticket]]>(Array(repeating: [], count: workers))
        let failure = Mutex<(any Error)?>(nil)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let range = (blobs.count * w / workers)..<(blobs.count * (w + 1) / workers)
            let interner = StringInterner()
            var decoded: [Ticket] = []
            decoded.reserveCapacity(range.count)
            do {
                for i in range { decoded.append(try Blob.ticket(blobs[i], interner: interner)) }
            } catch {
                failure.withLock { $0 = $0 ?? error }
            }
            parts.withLock { $0[w] = decoded }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return parts.withLock { $0.flatMap { $0 } }
    }

    /// One ticket's snapshot, for reactivating a passivated ticket.
    public func ticket(_ id: String) throws -> Ticket? {
        try pool.read { db in
            guard let data = try Data.fetchOne(db, sql: "SELECT body FROM ticket WHERE id = ?", arguments: [id]) else { return nil }
            return try Blob.ticket(data)
        }
    }

    /// The journal of one ticket, oldest first: its audit history.
    public func events(of ticket: String) throws -> [Event] {
        try pool.read { db in
            try Data.fetchAll(db, sql: "SELECT body FROM event WHERE ticket = ? ORDER BY seq", arguments: [ticket]).map(Blob.event)
        }
    }

    /// Copies the database to `destination` with SQLite's online backup, while the node runs.
    public func backup(to destination: String) throws {
        let target = try DatabaseQueue(path: destination)
        try pool.backup(to: target)
    }
}
