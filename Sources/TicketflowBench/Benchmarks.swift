import Foundation
import GRDB
import Histogram
import Logging
import Synchronization
import TicketflowCore
import TicketflowRuntime
import TicketflowNode
import TicketflowStorage
import TicketflowStorm
import TicketflowWorkflow

/// Counts journal events and commit latencies for the durable benchmark.
final class CommitStats: NodeObserver, @unchecked Sendable {
    // @unchecked Sendable: all state is guarded by `lock`.
    private let lock = NSLock()
    private var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    private var events = 0
    func accepted(_ batch: [Event]) { lock.withLock { events += batch.count } }
    func rejected(_ code: String) {}
    func committed(batchEvents: Int, seconds: Double) { lock.withLock { _ = histogram.record(UInt64(max(1, seconds * 1_000_000))) } }
    var eventCount: Int { lock.withLock { events } }
    func commitMicros(_ p: Double) -> Double { lock.withLock { Double(histogram.valueAtPercentile(p)) } }
    func reset() { lock.withLock { histogram.reset(); events = 0 } }
}

func loadWorkflow(_ path: String = defaultWorkflowPath) -> (Workflow, String) {
    let outcome = WorkflowLoader.load(path: path)
    guard let workflow = outcome.workflow else { fatalError("workflow \(path): \(outcome.diagnostics)") }
    // The file was just loaded by WorkflowLoader; its text is only the activation record.
    return (workflow, (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
}

func draft(_ n: Int) -> NewTicket {
    NewTicket(id: "", subject: "Benchmark ticket \(n)", description: "load", requester: Requester(name: "Req \(n)", email: "r\(n)@acme.example", organization: "acme"),
              channel: .email, priority: Priority.allCases[n % 4])
}

func quietLogger() -> Logger {
    var l = Logger(label: "bench")
    l.logLevel = .error
    return l
}

/// 1. Durable command throughput and commit latency vs raw batched SQLite inserts of the same rows;
///    ack latency at half load; the in-process create rate (the baseline for HTTP).
func benchDurable(seconds: Double, durability: Durability) async throws {
    let dir = temporaryDirectory("tf-bench-durable")
    // Removing a temporary directory: a leftover one is harmless.
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (workflow, source) = loadWorkflow()
    let stats = CommitStats()
    let store = try Store(path: dir + "/node.sqlite", durability: durability)
    let node = try DurableNode(store: store, defaultWorkflow: (workflow, source, .file("bench")), clock: SystemClock(), logger: quietLogger(), observer: stats)
    _ = try await node.start()
    stats.reset()

    // Saturation: 64 concurrent clients creating as fast as acknowledgements come back.
    let start = ContinuousClock.now
    let deadline = start + .milliseconds(Int64(seconds * 1000))
    let counter = Counter()
    await withTaskGroup(of: Void.self) { group in
        for c in 0..<64 {
            group.addTask {
                var n = c
                while ContinuousClock.now < deadline {
                    // A refused create is not counted: only committed events are (CommitStats).
                    _ = try? await node.create(draft(n), idempotencyKey: nil)
                    n += 64
                    counter.add()
                }
            }
        }
    }
    let elapsed = elapsedSeconds(since: start)
    let creates = counter.value
    let events = stats.eventCount
    let createRate = Double(creates) / elapsed
    let eventRate = Double(events) / elapsed
    let commitP50 = stats.commitMicros(50) / 1000, commitP99 = stats.commitMicros(99) / 1000

    // Half load, open loop: latency from the planned instant to the acknowledgement.
    var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    let half = createRate / 2
    let halfSeconds = min(5.0, seconds)
    let t0 = ContinuousClock.now
    let results = LatencyLog()
    await withTaskGroup(of: Void.self) { group in
        var i = 0
        while true {
            let planned = t0 + .microseconds(Int64(Double(i) / half * 1_000_000))
            if elapsedSeconds(since: t0) >= halfSeconds || planned > t0 + .milliseconds(Int64(halfSeconds * 1000)) { break }
            // Not cancelled in a benchmark; a sleep that ends early only sends sooner.
            if planned > ContinuousClock.now { try? await Task.sleep(until: planned, clock: .continuous) }
            let n = 10_000_000 + i
            group.addTask {
                // A refused create is not counted: only committed events are (CommitStats).
                _ = try? await node.create(draft(n), idempotencyKey: nil)
                let d = ContinuousClock.now - planned
                await results.add(UInt64(d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000))
            }
            i += 1
        }
    }
    for v in await results.values { _ = latency.record(max(1, v)) }
    try await node.flush()

    // Ceiling: the same event and snapshot rows, inserted raw in batched transactions.
    let rows = try store.rawRows()
    let raw = try rawInsert(rows: rows, dir: dir, durability: durability)
    let eventsPerCreate = Double(rows.events.count) / Double(max(1, rows.snapshots.count))

    report("durable ticket creates/s (in-process, 64 clients, \(durability.rawValue))", format(createRate), note: String(format: "%.1f events per create", eventsPerCreate))
    report("durable events/s (\(durability.rawValue))", format(eventRate), baseline: "raw batched inserts of the same rows: \(format(raw)) events/s",
           ratio: String(format: "%.0f %%", eventRate / raw * 100), note: "target ≥ 100,000/s and ≥ 60 %")
    report("group commit latency (\(durability.rawValue))", String(format: "p50 %.2f ms, p99 %.2f ms", commitP50, commitP99))
    report("ack latency at half load (\(format(half))/s, \(durability.rawValue))",
           String(format: "p50 %.2f ms, p99 %.2f ms", Double(latency.valueAtPercentile(50)) / 1000, Double(latency.valueAtPercentile(99)) / 1000),
           note: "target p99 ≤ 5 ms")
}

/// A count shared by the load tasks; atomic, so counting costs no actor hop of its own.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
actor LatencyLog { var values: [UInt64] = []; func add(_ v: UInt64) { values.append(v) } }

extension Store {
    /// Every journal and snapshot row, for the raw-insert baseline.
    func rawRows() throws -> (events: [(String, Int64, Int64, Data)], snapshots: [(String, Int64, Data)]) {
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            let e = try Row.fetchAll(db, sql: "SELECT ticket, version, at, body FROM event ORDER BY seq").map { ($0["ticket"] as String, $0["version"] as Int64, $0["at"] as Int64, $0["body"] as Data) }
            let s = try Row.fetchAll(db, sql: "SELECT id, version, body FROM ticket").map { ($0["id"] as String, $0["version"] as Int64, $0["body"] as Data) }
            return (e, s)
        }
    }
}

/// Inserts the rows with plain SQL in transactions of ~1000 events: what SQLite itself can take.
func rawInsert(rows: (events: [(String, Int64, Int64, Data)], snapshots: [(String, Int64, Data)]), dir: String, durability: Durability) throws -> Double {
    var config = Configuration()
    config.journalMode = .wal
    let queue = try DatabaseQueue(path: dir + "/raw.sqlite", configuration: config)
    try queue.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
        try db.execute(sql: """
            CREATE TABLE event (seq INTEGER PRIMARY KEY AUTOINCREMENT, ticket TEXT NOT NULL, version INTEGER NOT NULL, at INTEGER NOT NULL, body BLOB NOT NULL);
            CREATE INDEX event_ticket ON event(ticket, version);
            CREATE TABLE ticket (id TEXT PRIMARY KEY, version INTEGER NOT NULL, body BLOB NOT NULL);
            """)
    }
    let perBatch = 1000
    let snapshotsPerBatch = max(1, rows.snapshots.count * perBatch / max(1, rows.events.count))
    let start = ContinuousClock.now
    var e = 0, s = 0
    while e < rows.events.count {
        try queue.inTransaction { db in
            let ins = try db.cachedStatement(sql: "INSERT INTO event (ticket, version, at, body) VALUES (?, ?, ?, ?)")
            for r in rows.events[e..<min(e + perBatch, rows.events.count)] { try ins.execute(arguments: [r.0, r.1, r.2, r.3]) }
            let snap = try db.cachedStatement(sql: "INSERT OR REPLACE INTO ticket (id, version, body) VALUES (?, ?, ?)")
            for r in rows.snapshots[min(s, rows.snapshots.count)..<min(s + snapshotsPerBatch, rows.snapshots.count)] { try snap.execute(arguments: [r.0, r.1, r.2]) }
            return .commit
        }
        e += perBatch
        s += snapshotsPerBatch
    }
    return Double(rows.events.count) / elapsedSeconds(since: start)
}
