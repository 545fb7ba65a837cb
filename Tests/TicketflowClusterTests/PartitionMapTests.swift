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

    @Test func theFingerprintCoversMembershipButNotLocalPaths() {
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
        #expect(other.fingerprint != a.fingerprint)
    }
}
