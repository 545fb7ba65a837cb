import TicketflowCore
/// Which node owns which partition: computed from the cluster file alone, by rendezvous
/// (highest-random-weight) hashing, so every node agrees without talking and removing a
/// node moves only that node's partitions.
///
/// The owner of partition `p` is the node `n` with the largest `weight("n/p")` — FNV-1a
/// followed by a 64-bit finalizer (FNV alone spreads names that differ in one character
/// poorly); ties, which 64-bit weights make vanishingly rare, go to the smaller name.
public struct PartitionMap: Sendable, Equatable {
    public let nodes: [String]
    public let partitions: Int
    /// Owner of each partition, by index.
    public let owners: [String]

    public init(nodes: [String], partitions: Int) {
        precondition(!nodes.isEmpty && partitions > 0)
        self.nodes = nodes.sorted()
        self.partitions = partitions
        var owners: [String] = []
        for p in 0..<partitions {
            var best = self.nodes[0], bestWeight = PartitionMap.weight("\(self.nodes[0])/\(p)")
            for node in self.nodes.dropFirst() {
                let w = PartitionMap.weight("\(node)/\(p)")
                if w > bestWeight { best = node; bestWeight = w }
            }
            owners.append(best)
        }
        self.owners = owners
    }

    public func owner(of partition: Int) -> String { owners[partition] }

    /// Partitions a node owns.
    public func partitions(of node: String) -> [Int] { owners.indices.filter { owners[$0] == node } }

    /// The partition of a key (an Idempotency-Key, say): a stable hash, modulo the count.
    public func partition(forKey key: String) -> Int { Int(PartitionMap.weight(key) % UInt64(partitions)) }

    /// FNV-1a with a murmur3-style finalizer, so every input bit affects every output bit.
    public static func weight(_ text: String) -> UInt64 { StableHash.mixed(text) }
}
