import TicketflowNode
import TicketflowStorage

/// The replicator of a node whose own partition was placed on other nodes (docs/replication.md,
/// "Changing the nodes"): its old store takes no write and fires no timer — the partition's
/// leader, elsewhere, does both.
struct PlacedElsewhere: BatchReplicator {
    let shard: String
    func refusal() -> String? { "partition \(shard) is kept by other nodes now" }
    func propose(_ batch: CommitBatch) throws -> LogMark { throw ReplicationStopped(refusal()!) }
    func acknowledged(_ mark: LogMark) async throws { throw ReplicationStopped(refusal()!) }
    func localWriteFailed(_ reason: String) {}
}
