import Foundation
import GRDB
import TicketflowCore

/// How hard a commit presses data to disk.
public enum Durability: String, Sendable, CaseIterable {
    /// `synchronous = FULL`: a commit survives a power loss. The default.
    case full
    /// `synchronous = NORMAL` (WAL): survives a process crash; the last commits may roll back on power loss.
    case normal
}

/// A batch's place in a replicated partition's log: its index and the epoch of the leader
/// that wrote it (the replication module's `LogPosition`, as the store keeps it).
public struct LogMark: Hashable, Sendable, CustomStringConvertible {
    public var index: UInt64
    public var epoch: UInt64
    public init(index: UInt64, epoch: UInt64) { self.index = index; self.epoch = epoch }
    public var description: String { "\(index)@\(epoch)" }
}

/// A create made under an idempotency key: the ticket it made and a fingerprint of the
/// request (nil for keys stored before fingerprints were kept).
public struct KeyedCreate: Sendable, Equatable {
    public var ticket: String
    public var request: String?
    public init(ticket: String, request: String?) { self.ticket = ticket; self.request = request }
}

/// Everything one group commit writes, in one transaction.
public struct CommitBatch: Sendable {
    public var events: [Event] = []
    /// The state of each changed ticket after this batch's events: its snapshot.
    public var tickets: [String: Ticket] = [:]
    /// The numbers of the tickets this batch creates; every other ticket in `tickets` is
    /// already stored and keeps its number.
    public var ticketNumbers: [String: TicketNumber] = [:]
    /// Idempotency keys of creates, with the ticket each made and its request's fingerprint.
    public var idempotencyKeys: [String: KeyedCreate] = [:]
    /// Idempotency keys of commands on existing tickets, with the fingerprint of their request.
    public var commandKeys: [CommandKey: String] = [:]
    public var agents: [String: Agent] = [:]
    public var workflow: WorkflowActivation?
    /// What became of notifications since the last batch: recorded in the journal's batches,
    /// so they travel to a partition's replicas with everything else and a replica that takes
    /// over does not send again what was delivered.
    public var outboxMarks: [OutboxMark] = []

    public init() {}
    public var isEmpty: Bool {
        events.isEmpty && agents.isEmpty && workflow == nil && idempotencyKeys.isEmpty && commandKeys.isEmpty && outboxMarks.isEmpty
    }
}

/// A delivery attempt's outcome for one outbox item.
public enum OutboxMark: Sendable, Equatable {
    /// Delivered at this instant: never due again.
    case delivered(id: String, at: Instant)
    /// Failed: due again at `retryAt`, with the error kept for operators.
    case failed(id: String, error: String, retryAt: Instant)

    public var id: String {
        switch self {
        case .delivered(let id, _), .failed(let id, _, _): return id
        }
    }
}

/// A client's `Idempotency-Key` for a command on one ticket: keys are scoped by ticket, so two
/// tickets never share one and a create's key never meets a command's.
public struct CommandKey: Hashable, Sendable {
    public var ticket: String
    public var key: String
    public init(ticket: String, key: String) { self.ticket = ticket; self.key = key }
}

/// Where an active workflow came from. Stored as `file:PATH` or `api`.
public enum WorkflowOrigin: Sendable, Equatable, CustomStringConvertible {
    /// Read from a file when the node started (`--workflow`), or named by an embedder.
    case file(String)
    /// Put over the API: it wins over the file on every restart.
    case api

    public init(stored: String) {
        if stored == "api" { self = .api }
        else if stored.hasPrefix("file:") { self = .file(String(stored.dropFirst(5))) }
        else { self = .file(stored) }
    }

    public var stored: String {
        switch self {
        case .api: return "api"
        case .file(let path): return "file:" + path
        }
    }

    public var description: String { stored }

    /// The directory of the file a workflow came from (its includes' base), nil for the API's.
    public var directory: String? {
        guard case .file(let path) = self else { return nil }
        let directory = (path as NSString).deletingLastPathComponent
        return directory.isEmpty ? "." : directory
    }
}

/// A workflow that became active, and where it came from.
public struct WorkflowActivation: Sendable, Equatable {
    public var label, source: String
    public var origin: WorkflowOrigin
    public var at: Instant

    public init(label: String, source: String, origin: WorkflowOrigin, at: Instant) {
        self.label = label; self.source = source; self.origin = origin; self.at = at
    }
}

/// What a restart finds on disk.
public struct RecoveredState: Sendable {
    /// Snapshots in storage.
    public var tickets = 0
    public var agents: [Agent] = []
    public var workflow: WorkflowActivation?
    public var lastTicketNumber = TicketNumber(0)
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
        // What a restart needs of a ticket that stays in storage — its required skills and
        // pending timers, beside the routing columns already there — so that a restart reads
        // these small columns instead of decoding every snapshot; the index covers them, so it
        // reads neither the snapshots' pages (a million tickets: 2.5 s instead of 4–5.5 s).
        m.registerMigration("v3-routing-columns") { db in
            try db.execute(sql: "ALTER TABLE ticket ADD COLUMN skills BLOB; ALTER TABLE ticket ADD COLUMN timers BLOB;")
            try db.execute(sql: "CREATE INDEX ticket_restart ON ticket(number, id, status, queue, assignee, priority, skills, timers, version)")
            let rows = try Row.fetchCursor(db, sql: "SELECT id, body FROM ticket")
            var filled: [(String, Data?, Data?)] = []
            while let row = try rows.next() {
                let ticket = try Blob.ticket(row["body"])
                filled.append((ticket.id, RestartColumns.skills(ticket), RestartColumns.timers(ticket)))
            }
            let update = try db.makeStatement(sql: "UPDATE ticket SET skills = ?, timers = ? WHERE id = ?")
            for (id, skills, timers) in filled { try update.execute(arguments: [skills, timers, id]) }
        }
        // Idempotency keys of commands on existing tickets (comments, escalations, macros …),
        // each with a fingerprint of its request, so a retry is answered without running twice.
        m.registerMigration("v4-command-keys") { db in
            try db.execute(sql: """
                CREATE TABLE command_key (ticket TEXT NOT NULL, key TEXT NOT NULL, request TEXT NOT NULL,
                                          PRIMARY KEY (ticket, key)) WITHOUT ROWID
                """)
        }
        // Creates remember their request's fingerprint too, so a key reused for another
        // create is refused instead of answered with the first ticket. Keys stored before
        // have none and replay as they always did.
        m.registerMigration("v5-create-key-requests") { db in
            try db.execute(sql: "ALTER TABLE idempotency ADD COLUMN request TEXT")
        }
        registerAccountMigrations(&m)
        // Where this store stands in its partition's replicated log: the index and epoch of
        // the last batch written, in the same transaction as the batch (docs/replication.md).
        m.registerMigration("v8-log-position") { db in
            try db.execute(sql: "CREATE TABLE log_position (id INTEGER PRIMARY KEY CHECK (id = 1), idx INTEGER NOT NULL, epoch INTEGER NOT NULL)")
        }
        return m
    }()

    // MARK: Writing

    /// Writes a batch in one transaction; returns when it is durable (per `durability`). In a
    /// replicated partition, `position` is the batch's place in the log, written with it.
    public func commit(_ batch: CommitBatch, position: LogMark? = nil) async throws {
        let encoded = try EncodedBatch(batch)
        try await pool.write { db in
            try Store.write(encoded, batch, into: db)
            if let position { try Store.write(position, into: db) }
        }
    }

    /// A follower's group commit: its leader's batches, in order, in one transaction, with the
    /// position of the last.
    public func commit(_ batches: [CommitBatch], position: LogMark) async throws {
        let encoded = try batches.map { try EncodedBatch($0) }
        try await pool.write { db in
            for (e, batch) in zip(encoded, batches) { try Store.write(e, batch, into: db) }
            try Store.write(position, into: db)
        }
    }

    private static func write(_ position: LogMark, into db: Database) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO log_position (id, idx, epoch) VALUES (1, ?, ?)",
                       arguments: [Int64(position.index), Int64(position.epoch)])
    }

    /// The last batch this store holds in its partition's log (0, 0: none).
    public func logPosition() throws -> LogMark {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT idx, epoch FROM log_position WHERE id = 1") else { return LogMark(index: 0, epoch: 0) }
            return LogMark(index: UInt64(row["idx"] as Int64), epoch: UInt64(row["epoch"] as Int64))
        }
    }

    /// Closes the file; the store is unusable after (a follower replacing its store by a copy).
    public func close() throws { try pool.close() }

    /// Writes a batch in one transaction from synchronous code (offline tools that fill a data
    /// directory, such as `ticketflow simulate --record`); the node itself commits with `commit`.
    public func commitWaiting(_ batch: CommitBatch) throws {
        let encoded = try EncodedBatch(batch)
        try pool.write { db in try Store.write(encoded, batch, into: db) }
    }

    /// A batch's rows encoded before the writer is taken, so encoding never holds it.
    struct EncodedBatch {
        var rows: [(Event, Data)]
        var snapshots: [(Ticket, Data)]
        var agents: [(String, Data)]
        init(_ batch: CommitBatch) throws {
            rows = batch.events.map { ($0, Blob.encode($0)) }
            snapshots = batch.tickets.values.map { ($0, Blob.encode($0)) }
            let encoder = JSONEncoder()
            agents = try batch.agents.values.map { ($0.id, try encoder.encode($0)) }
        }
    }

    private static func write(_ encoded: EncodedBatch, _ batch: CommitBatch, into db: Database) throws {
        let (rows, snapshots, agents) = (encoded.rows, encoded.snapshots, encoded.agents)
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
        // A new ticket is inserted with the number it was minted with; a stored one is
        // updated and keeps its number, so no number is ever derived from an id.
        let insertTicket = try db.cachedStatement(sql: """
            INSERT INTO ticket (status, line, queue, assignee, priority, created, updated, sla_due,
                                sla_breached, version, body, skills, timers, requester, id, number)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let updateTicket = try db.cachedStatement(sql: """
            UPDATE ticket SET status = ?, line = ?, queue = ?, assignee = ?, priority = ?, created = ?, updated = ?,
                              sla_due = ?, sla_breached = ?, version = ?, body = ?, skills = ?, timers = ?, requester = ?
            WHERE id = ?
            """)
        for (ticket, body) in snapshots {
            let running = ticket.slaClocks.values.filter { $0.isRunning }.compactMap(\.due).min()
            let breached = ticket.slaClocks.values.contains { $0.isBreached && !$0.isStopped }
            var columns: StatementArguments = [ticket.status, String(ticket.line), ticket.queue, ticket.assignee,
                                               ticket.priority.rawValue, ticket.createdAt.millis, ticket.updatedAt.millis,
                                               running?.millis, breached ? 1 : 0, ticket.version, body,
                                               RestartColumns.skills(ticket), RestartColumns.timers(ticket),
                                               ticket.requester.email.lowercased(), ticket.id]
            if let number = batch.ticketNumbers[ticket.id] {
                columns += [number.value]
                try insertTicket.execute(arguments: columns)
            } else {
                try updateTicket.execute(arguments: columns)
                guard db.changesCount == 1 else { throw StoreError.corrupt("ticket \(ticket.id) changed but never created") }
            }
        }
        for (key, create) in batch.idempotencyKeys {
            try db.execute(sql: "INSERT OR IGNORE INTO idempotency (key, ticket, request) VALUES (?, ?, ?)",
                           arguments: [key, create.ticket, create.request])
        }
        for (key, request) in batch.commandKeys {
            try db.execute(sql: "INSERT OR IGNORE INTO command_key (ticket, key, request) VALUES (?, ?, ?)",
                           arguments: [key.ticket, key.key, request])
        }
        for (id, body) in agents {
            try db.execute(sql: "INSERT OR REPLACE INTO agent (id, body) VALUES (?, ?)", arguments: [id, body])
        }
        if let w = batch.workflow {
            try db.execute(sql: "INSERT INTO workflow (label, source, origin, activated) VALUES (?, ?, ?, ?)",
                           arguments: [w.label, w.source, w.origin.stored, w.at.millis])
        }
        for mark in batch.outboxMarks {
            switch mark {
            case let .delivered(id, at):
                try db.execute(sql: "UPDATE outbox SET delivered = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
                               arguments: [at.millis, id])
            case let .failed(id, error, retryAt):
                try db.execute(sql: "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE id = ?",
                               arguments: [retryAt.millis, String(error.prefix(500)), id])
            }
        }
    }

    // MARK: Reading

    /// Everything a restart needs besides the tickets (see `recoverTickets`).
    public func recover() throws -> RecoveredState {
        try pool.read { db in
            let decoder = JSONDecoder()
            var state = RecoveredState()
            state.lastTicketNumber = TicketNumber(try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(number), 0) FROM ticket") ?? 0)
            state.tickets = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ticket") ?? 0
            for row in try Row.fetchAll(db, sql: "SELECT body FROM agent ORDER BY id") {
                let data: Data = row["body"]
                state.agents.append(try decoder.decode(Agent.self, from: data))
            }
            if let row = try Row.fetchOne(db, sql: "SELECT label, source, origin, activated FROM workflow ORDER BY version DESC LIMIT 1") {
                state.workflow = WorkflowActivation(label: row["label"], source: row["source"], origin: WorkflowOrigin(stored: row["origin"]),
                                                    at: Instant(millis: row["activated"]))
            }
            state.events = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM event") ?? 0
            return state
        }
    }

    /// The tickets a restart puts back, as routing and the timer queue see them — open ones
    /// (status not in `solved`) and any with pending timers — in ticket number order, read
    /// from their small columns: no snapshot is decoded. Their snapshots stay on disk until a
    /// command, a timer or routing needs them. The rows are read on another thread while
    /// `each` runs on this one.
    public func recoverTickets(solved: Set<String>, _ each: (RestartTicket) throws -> Void) throws {
        let pipe = ChunkPipe<RestartTicket>(depth: 4)
        let pool = self.pool
        DispatchQueue.global().async {
            do {
                try Store.readRestartTickets(pool, solved: solved, into: pipe)
                pipe.finish()
            } catch {
                pipe.fail(error)
            }
        }
        do {
            while let chunk = try pipe.take() { for ticket in chunk { try each(ticket) } }
        } catch {
            pipe.cancel()
            throw error
        }
    }

    private static func readRestartTickets(_ pool: DatabasePool, solved: Set<String>, into pipe: ChunkPipe<RestartTicket>) throws {
        let marks = Array(repeating: "?", count: solved.count).joined(separator: ", ")
        let openOrTimed = solved.isEmpty ? "1" : "status NOT IN (\(marks)) OR timers IS NOT NULL"
        try pool.read { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT id, status, queue, assignee, priority, skills, timers, version FROM ticket
                WHERE \(openOrTimed) ORDER BY number
                """, arguments: StatementArguments(solved.sorted()))
            var chunk: [RestartTicket] = []
            chunk.reserveCapacity(4096)
            // Columns by position: looking them up by name showed in restart profiles.
            while let row = try rows.next() {
                guard let priority = Priority(rawValue: row[4]) else { throw StoreError.corrupt("ticket \(row[0] as String): priority") }
                chunk.append(RestartTicket(id: row[0], status: row[1], queue: row[2], assignee: row[3], priority: priority,
                                           skills: try RestartColumns.skills(row[5]), timers: try RestartColumns.timers(row[6]),
                                           version: row[7]))
                if chunk.count == 4096 {
                    guard pipe.put(chunk) else { return }   // the consumer gave up
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            if !chunk.isEmpty { _ = pipe.put(chunk) }
        }
    }

    /// The committed create with this idempotency key: the ticket it made and its fingerprint.
    public func create(forIdempotencyKey key: String) throws -> KeyedCreate? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT ticket, request FROM idempotency WHERE key = ?", arguments: [key])
                .map { KeyedCreate(ticket: $0["ticket"], request: $0["request"]) }
        }
    }

    /// The request fingerprint committed with this command key.
    public func request(forCommandKey key: CommandKey) throws -> String? {
        try pool.read { db in
            try String.fetchOne(db, sql: "SELECT request FROM command_key WHERE ticket = ? AND key = ?", arguments: [key.ticket, key.key])
        }
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
