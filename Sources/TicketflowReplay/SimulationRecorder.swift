import Foundation
import TicketflowCore
import TicketflowStorage

/// Writes a simulation's events to a data directory the way a node writes its own — journal,
/// snapshots, ticket numbers, the workflow activation — in batches of about 20,000 events, so
/// `ticketflow replay`, `why` and the what-if replay can be tried on a month of traffic
/// without running a node for a month (`ticketflow simulate --record DIR`).
public final class SimulationRecorder {
    private let store: Store
    private var batch = CommitBatch()
    private var numbers: [String: TicketNumber] = [:]
    private var nextNumber: Int64 = 1
    public private(set) var events = 0
    /// The first error writing; recording stops there and the caller reports it.
    public private(set) var failure: (any Error)?

    /// Opens a fresh data directory (it must not hold a database yet) and records the workflow.
    public init(directory: String, workflow: Workflow, source: String, origin: WorkflowOrigin, at start: Instant) throws {
        let path = directory + "/ticketflow.sqlite"
        guard !FileManager.default.fileExists(atPath: path) else {
            throw Store.StoreError.corrupt("\(path) already exists; record into an empty directory")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try Store(path: path, durability: .normal)
        batch.workflow = WorkflowActivation(label: workflow.label, source: source, origin: origin, at: start)
    }

    /// Takes events as the simulation accepts them, with the tickets as they stand after them.
    public func record(_ events: [Event], ticket: (String) -> Ticket?) {
        guard failure == nil else { return }
        batch.events += events
        self.events += events.count
        for event in events {
            if numbers[event.ticket] == nil {
                numbers[event.ticket] = TicketNumber(nextNumber)
                batch.ticketNumbers[event.ticket] = TicketNumber(nextNumber)
                nextNumber += 1
            }
            if let snapshot = ticket(event.ticket) { batch.tickets[event.ticket] = snapshot }
        }
        if batch.events.count >= 20_000 { flush() }
    }

    /// Writes what is pending; call once the simulation ends.
    public func flush() {
        guard failure == nil, !batch.isEmpty else { return }
        do { try store.commitWaiting(batch) } catch { failure = error }
        batch = CommitBatch()
    }
}
