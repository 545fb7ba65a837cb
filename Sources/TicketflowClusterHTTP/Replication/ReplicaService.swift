import Distributed
import Synchronization
import TicketflowCluster
import TicketflowReplication

/// The distributed actor each node runs under the well-known name `replica`: the leaders of
/// the partitions this node holds replicas of send it their appends and copies, and a node
/// coming back asks the one standing in for it to hand its partition over.
distributed actor ReplicaService {
    typealias ActorSystem = ClusterActorSystem
    static let name = "replica"

    private let host: ReplicaHost

    init(host: ReplicaHost, actorSystem: ClusterActorSystem) {
        self.host = host
        self.actorSystem = actorSystem
    }

    /// A leader's messages for one partition; the answers, once what they ask is on disk.
    distributed func deliver(_ messages: ReplicationMessages, from leader: String) async throws -> ReplicationMessages {
        guard let log = host.shards[messages.shard] else { throw ClusterCallError("\(id.node) holds no replica of partition \(messages.shard)") }
        return try await log.receive(messages, from: leader)
    }

    /// A piece of a copy of a leader's store.
    distributed func install(_ chunk: SnapshotChunk, from leader: String) async throws -> ReplicationMessages {
        guard let log = host.shards[chunk.shard] else { throw ClusterCallError("\(id.node) holds no replica of partition \(chunk.shard)") }
        return try await log.install(chunk, from: leader)
    }

    /// A piece of this node's seed for `node`, added to the cluster with an empty store: the
    /// export is made when the first piece is asked for and removed once the last is read.
    distributed func seed(for node: String, offset: Int) async throws -> SeedPiece {
        try host.seedPiece(for: node, offset: UInt64(offset))
    }

    /// The partition's home node is back: stop writing it here, give it a copy of the store,
    /// give up the leader key. Returns the copy's position.
    distributed func handOver(_ shard: String, to home: String) async throws -> ReplicaPosition {
        ReplicaPosition(try await host.handOver(shard, to: home))
    }
}

/// Calls to the other replicas through their `ReplicaService`.
struct ClusterReplicaLinks: ReplicaLinks {
    let me: String
    let services: [String: ReplicaService]

    func deliver(_ messages: ReplicationMessages, to peer: String) async throws -> ReplicationMessages {
        guard let service = services[peer] else { throw ClusterCallError("no member \(peer)") }
        return try await service.deliver(messages, from: me)
    }

    func seed(from peer: String, offset: UInt64) async throws -> SeedPiece {
        guard let service = services[peer] else { throw ClusterCallError("no member \(peer)") }
        return try await service.seed(for: me, offset: Int(offset))
    }

    func install(_ chunk: SnapshotChunk, to peer: String) async throws -> ReplicationMessages {
        guard let service = services[peer] else { throw ClusterCallError("no member \(peer)") }
        return try await service.install(chunk, from: me)
    }
}
