import TicketflowStorage

/// The leader's side of a replicated partition as the node sees it (the cluster implements it,
/// docs/replication.md): every batch the node commits gets its place in the partition's log
/// and goes to the followers; a request is answered only once a majority holds its batch.
public protocol BatchReplicator: Sendable {
    /// Why writes cannot be acknowledged now (this node does not lead, its lease is not to be
    /// trusted, too few replicas are in sync), or nil when they can.
    func refusal() -> String?
    /// The batch's place in the log, written with it; the batch is on its way to the followers.
    /// Throws `ReplicationStopped` when this node no longer leads.
    func propose(_ batch: CommitBatch) throws -> LogMark
    /// Returns once a majority of the replicas has the batch at `mark` on disk. Throws
    /// `ReplicationStopped` when this node was deposed, `ReplicationTimeout` when a majority
    /// did not answer in time (the batch stays in the log and may still be acknowledged).
    func acknowledged(_ mark: LogMark) async throws
    /// The node could not write a batch to its own store (disk full, say) and stopped: the
    /// partition should be led elsewhere rather than wait here.
    func localWriteFailed(_ reason: String)
}

/// This node leads the partition no more (a newer epoch, or its lease lapsed): it stops
/// acknowledging and firing timers.
public struct ReplicationStopped: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A majority did not hold a batch in time: its requests are answered 503, not acknowledged.
public struct ReplicationTimeout: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
