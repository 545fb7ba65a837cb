import Testing
import TicketflowCore
@testable import TicketflowCluster

@Suite struct PartitionMapTests {
    @Test func everyNodeComputesTheSameMap() {
        let a = PartitionMap(nodes: ["n1", "n2", "n3"], partitions: 64)
        let b = PartitionMap(nodes: ["n3", "n1", "n2"], partitions: 64)
        #expect(a == b)
        #expect(a.owners.count == 64)
    }

    @Test func partitionsSpreadOverTheNodes() {
        let map = PartitionMap(nodes: ["n1", "n2", "n3"], partitions: 64)
        for node in ["n1", "n2", "n3"] {
            let owned = map.partitions(of: node).count
            #expect(owned >= 10 && owned <= 32, "\(node) owns \(owned)")
        }
    }

    @Test func removingANodeMovesOnlyItsPartitions() {
        let three = PartitionMap(nodes: ["n1", "n2", "n3"], partitions: 64)
        let two = PartitionMap(nodes: ["n1", "n2"], partitions: 64)
        for p in 0..<64 where three.owner(of: p) != "n3" {
            #expect(two.owner(of: p) == three.owner(of: p))
        }
    }

    @Test func hashIsStable() {
        // Fixed values: a change here would move every partition of every cluster.
        #expect(StableHash.fnv1a64("") == 0xcbf2_9ce4_8422_2325)
        #expect(StableHash.fnv1a64("a") == 0xaf63_dc4c_8601_ec8c)
        let map = PartitionMap(nodes: ["n1", "n2", "n3"], partitions: 8)
        #expect(map.partition(forKey: "form-4711") == map.partition(forKey: "form-4711"))
    }

    @Test func theFingerprintCoversWhereTicketsLiveButNotNodesOrPaths() {
        let nodes = [ClusterConfig.Node(name: "n1", http: "127.0.0.1:8081", zmq: "tcp://127.0.0.1:9081", data: "./data/n1"),
                     ClusterConfig.Node(name: "n2", http: "127.0.0.1:8082", zmq: "tcp://127.0.0.1:9082", data: "./data/n2")]
        let a = ClusterConfig(partitions: 64, nodes: nodes)
        var moved = a
        moved.nodes[0].data = "/srv/ticketflow"
        moved.nodes.reverse()
        #expect(a.fingerprint == moved.fingerprint && a.fingerprint.count == 8)
        var more = a
        more.partitions = 32
        #expect(more.fingerprint != a.fingerprint)
        var other = a
        other.nodes[1].zmq = "tcp://127.0.0.1:9999"
        #expect(other.fingerprint == a.fingerprint, "an address is not where tickets live")
        // A node added with the partitions' homes kept: the same cluster, the same map.
        var grown = a
        grown.shards = ["n1", "n2"]
        grown.nodes.append(ClusterConfig.Node(name: "n3", http: "127.0.0.1:8083", zmq: "tcp://127.0.0.1:9083", data: "./data/n3"))
        #expect(grown.fingerprint == a.fingerprint && grown.partitionMap == a.partitionMap)
        // Without them the new node would take partitions: a different cluster.
        var moving = grown
        moving.shards = nil
        #expect(moving.fingerprint != a.fingerprint && moving.partitionMap != a.partitionMap)
    }

    /// A partition's replicas among the nodes: its home first while it is one of them; a
    /// node added takes a share of the places; a node removed leaves its partition to others.
    @Test func replicaSetsFollowTheNodes() {
        func node(_ n: String) -> ClusterConfig.Node { .init(name: n, http: "127.0.0.1:1", zmq: "tcp://127.0.0.1:2", data: "./d/\(n)") }
        let three = ClusterConfig(partitions: 64, nodes: ["n1", "n2", "n3"].map(node), replication: 3)
        #expect(three.replicaSet(of: "n2").sorted() == ["n1", "n2", "n3"] && three.replicaSet(of: "n2").first == "n2")
        let four = ClusterConfig(partitions: 64, nodes: ["n1", "n2", "n3", "n4"].map(node), replication: 3, shards: ["n1", "n2", "n3"])
        let sets = four.shardNames.map { four.replicaSet(of: $0) }
        #expect(sets.allSatisfy { $0.count == 3 && Set($0).count == 3 })
        #expect(zip(four.shardNames, sets).allSatisfy { $1.first == $0 }, "the home node stays first")
        #expect(sets.contains { $0.contains("n4") }, "the node added holds replicas")
        let without3 = four.replicaSet(of: "n3", among: ["n1", "n2", "n4"])
        #expect(without3.sorted() == ["n1", "n2", "n4"], "a partition whose home left is kept by the others")
        #expect(four.everyStore == ["n1", "n2", "n3", "n4"])
    }
}
