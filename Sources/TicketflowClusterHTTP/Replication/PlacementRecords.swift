import TicketflowCluster
import TicketflowCoordination

/// Where etcd records each partition's replicas (docs/replication.md, "Changing the nodes"):
/// `placement/<partition>` holds the replicas, comma-separated, and `placement/<partition>.learner`
/// the node catching up to join them; `nodes` the nodes replicas are placed on. Read by the
/// nodes, and by `ticketflow cluster digest` and `place`.
public struct PlacementRecord: Sendable, Equatable {
    public var members: [String]
    /// The record's mod revision: a change is written only over the record it was made from.
    public var revision: Int64
    public var learner: String?

    public static func prefix(_ config: ClusterConfig) -> String { config.etcdPrefix + "placement/" }
    public static func key(_ config: ClusterConfig, _ shard: String) -> String { prefix(config) + shard }
    public static func learnerKey(_ config: ClusterConfig, _ shard: String) -> String { prefix(config) + shard + ".learner" }
    public static func nodesKey(_ config: ClusterConfig) -> String { config.etcdPrefix + "nodes" }

    /// A list of node names as the records write it.
    public static func names(_ value: String) -> [String] { value.split(separator: ",").map(String.init) }

    /// Every partition's record (one range read).
    public static func read(_ config: ClusterConfig, from etcd: EtcdClient) async throws -> [String: PlacementRecord] {
        let prefix = prefix(config)
        var read: [String: PlacementRecord] = [:]
        // Key order puts `<partition>` before `<partition>.learner`.
        for kv in try await etcd.keys(prefix: prefix) {
            let name = String(kv.key.dropFirst(prefix.count))
            if name.hasSuffix(".learner") {
                read[String(name.dropLast(".learner".count)), default: PlacementRecord(members: [], revision: 0)].learner = kv.value
            } else {
                read[name] = PlacementRecord(members: names(kv.value), revision: kv.modRevision, learner: read[name]?.learner)
            }
        }
        return read
    }
}
