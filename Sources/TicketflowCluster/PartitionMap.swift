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
    public static func weight(_ text: String) -> UInt64 {
        var h = fnv1a64(text)
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }

    /// FNV-1a, 64 bits: stable across processes and platforms (unlike `Hasher`, which is seeded).
    public static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
