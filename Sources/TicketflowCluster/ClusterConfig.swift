import Foundation
import TicketflowYAML

/// A cluster file (`cluster/local.yaml`): the partition count and every node's HTTP address,
/// ZeroMQ endpoint, data directory and CurveZMQ public key — or `insecure: true` for
/// plain-text links, which must be asked for.
public struct ClusterConfig: Sendable, Decodable, Equatable {
    public struct Node: Sendable, Decodable, Equatable {
        /// Its name, HTTP address (HOST:PORT), ZeroMQ endpoint (tcp://…) and data directory.
        public var name, http, zmq, data: String
        /// Its CurveZMQ public key (40 Z85 characters), written here or read from a file
        /// (`ticketflow cluster keys` writes it; relative paths are from the working directory,
        /// as `data` is).
        public var publicKey: String?
        public var publicKeyFile: String?

        public init(name: String, http: String, zmq: String, data: String, publicKey: String? = nil, publicKeyFile: String? = nil) {
            self.name = name; self.http = http; self.zmq = zmq; self.data = data
            self.publicKey = publicKey; self.publicKeyFile = publicKeyFile
        }

        enum CodingKeys: String, CodingKey { case name, http, zmq, data, publicKey = "public_key", publicKeyFile = "public_key_file" }

        /// Where its secret key lives: in its data directory, readable by its owner only.
        public var secretKeyPath: String { data + "/curve.key" }
        /// Where `ticketflow cluster keys` writes its public key.
        public var publicKeyPath: String { publicKeyFile ?? data + "/curve.pub" }
    }

    public var partitions: Int
    public var nodes: [Node]
    /// Plain-text node-to-node links: anyone who reaches a ZeroMQ port is a peer. Only for
    /// trusted networks; without it every node needs a public key.
    public var insecure: Bool?
    /// etcd's client URLs (`http://HOST:PORT`): each node keeps its membership there under a
    /// lease, and is ready only while it does (docs/replication.md).
    public var etcd: [String]?
    /// How many nodes hold each node's partitions (docs/replication.md): 1, the default, keeps
    /// them on their home node alone; more needs etcd, and at most one per node.
    public var replication: Int?
    /// The partitions' homes — what the ticket partitions are spread over, each a partition
    /// of the replicated cluster named after the node it started on. Left out: the nodes'
    /// names. Kept as it was when nodes are added or removed (docs/replication.md, "Changing
    /// the nodes"), so no ticket moves: a node added holds replicas, a node removed leaves its
    /// partition to be led by the others.
    public var shards: [String]?

    enum CodingKeys: String, CodingKey { case partitions, nodes, insecure, etcd, shards, replication = "replication_factor" }

    public init(partitions: Int, nodes: [Node], insecure: Bool? = nil, etcd: [String]? = nil, replication: Int? = nil, shards: [String]? = nil) {
        self.partitions = partitions; self.nodes = nodes; self.insecure = insecure; self.etcd = etcd; self.replication = replication
        self.shards = shards
    }

    public var replicationFactor: Int { replication ?? 1 }

    /// Every partition's name (its first home node), in the file's order.
    public var shardNames: [String] { shards ?? nodes.map(\.name) }
    /// Every node's name.
    public var nodeNames: [String] { nodes.map(\.name) }
    /// Whether `node` is the home of a partition (a node added later is not: it holds replicas only).
    public func isShard(_ node: String) -> Bool { shardNames.contains(node) }
    /// Where a change to every store goes: each partition (to whoever leads it) and each node
    /// that is no partition's home (its own store: users, tokens, the workflow it shows).
    public var everyStore: [String] { shardNames + nodeNames.filter { !shardNames.contains($0) } }

    /// The replicas of a partition chosen from `among` (the file's nodes unless given): its home
    /// node first when it is one of them, then the others by rendezvous weight, as many as the
    /// replication factor — every node agrees from the same list alone.
    public func replicaSet(of shard: String, among names: [String]? = nil) -> [String] {
        let names = names ?? nodeNames
        let others = names.filter { $0 != shard }
            .sorted { PartitionMap.weight("\(shard)/replica/\($0)") > PartitionMap.weight("\(shard)/replica/\($1)") }
        return Array(((names.contains(shard) ? [shard] : []) + others).prefix(replicationFactor))
    }

    /// Where `node` keeps its replica of `shard`'s partition: its own store for its own
    /// partition, `replicas/<shard>.sqlite` beside it for the others.
    public func storePath(of shard: String, on node: String, dataDirectory: String? = nil) -> String {
        let data = dataDirectory ?? self.node(node)?.data ?? "."
        return shard == node ? data + "/ticketflow.sqlite" : data + "/replicas/\(shard).sqlite"
    }
    public var isReplicated: Bool { replicationFactor > 1 }

    /// Where this cluster's keys live in etcd: one prefix per cluster file's membership.
    public var etcdPrefix: String { "/ticketflow/" + fingerprint.map { String(format: "%02x", $0) }.joined() + "/" }

    public var isInsecure: Bool { insecure == true }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public static func load(path: String) throws -> ClusterConfig {
        let config: ClusterConfig
        do { config = try YAMLFile.decode(ClusterConfig.self, at: path) } catch { throw Invalid(description: error.description) }
        var problems: [String] = []
        if !(1...4096).contains(config.partitions) { problems.append("partitions must be 1…4096") }
        if config.nodes.isEmpty { problems.append("nodes: at least one node") }
        if Set(config.nodes.map(\.name)).count != config.nodes.count { problems.append("nodes: names must be unique") }
        for url in config.etcd ?? [] where !(url.hasPrefix("http://") && url.dropFirst(7).split(separator: ":").count == 2) {
            problems.append("etcd: '\(url)' must be http://HOST:PORT")
        }
        if config.etcd?.isEmpty == true { problems.append("etcd: at least one URL, or leave it out") }
        if let r = config.replication, !(1...config.nodes.count).contains(r) || r > 7 {
            problems.append("replication_factor must be 1…\(min(7, config.nodes.count)) (at most one replica per node)")
        }
        if let shards = config.shards {
            if shards.isEmpty { problems.append("shards: at least one, or leave it out") }
            if Set(shards).count != shards.count { problems.append("shards: names must be unique") }
            if shards != config.nodes.map(\.name), config.replicationFactor < 2 {
                problems.append("shards other than the nodes need replication_factor 2 or more: a partition without its home node lives only on replicas")
            }
        }
        if config.replicationFactor > 1, config.etcd == nil { problems.append("replication_factor \(config.replicationFactor) needs etcd: leaders are chosen there") }
        for n in config.nodes {
            if !n.zmq.hasPrefix("tcp://") { problems.append("node \(n.name): zmq must be a tcp:// endpoint") }
            if n.http.split(separator: ":").count != 2 || Int(n.http.split(separator: ":").last ?? "") == nil {
                problems.append("node \(n.name): http must be HOST:PORT")
            }
            if let key = n.publicKey, !CurveKeyPair.isKey(key) { problems.append("node \(n.name): public_key must be 40 Z85 characters") }
            if n.publicKey != nil, n.publicKeyFile != nil { problems.append("node \(n.name): give public_key or public_key_file, not both") }
            if !config.isInsecure, n.publicKey == nil, n.publicKeyFile == nil {
                problems.append("node \(n.name): needs public_key or public_key_file (ticketflow cluster keys \(path) \(n.name) makes a key pair), or set insecure: true for plain-text links")
            }
        }
        if !problems.isEmpty { throw Invalid(description: "\(path): " + problems.joined(separator: "; ")) }
        return config
    }

    public func node(_ name: String) -> Node? { nodes.first { $0.name == name } }

    /// What every member must agree on — where tickets live: the partition count and the
    /// partitions' homes — hashed to 8 bytes. Heartbeats carry it, so nodes laying tickets out
    /// differently never take each other for peers; nodes added or removed keep it (a cluster
    /// whose files list different nodes for a while, one restart at a time, is one cluster).
    public var fingerprint: [UInt8] {
        let canonical = "\(partitions)|" + shardNames.sorted().joined(separator: ";")
        let h = PartitionMap.weight(canonical)
        return (0..<8).map { UInt8(truncatingIfNeeded: h >> (8 * UInt64($0))) }
    }
    public var partitionMap: PartitionMap { PartitionMap(nodes: shardNames, partitions: partitions) }
}
