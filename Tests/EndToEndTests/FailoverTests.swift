import Foundation
import Testing
import TicketflowCluster
import TicketflowTesting

/// Issue 14 end to end: three nodes with replication factor 3 and a local etcd, started by
/// `cluster/start-local.sh`. A node killed with SIGKILL costs its partition seconds, not
/// tickets: another node takes it (elected in etcd), serves it from its replica, and hands it
/// back with a copy of the store when the node returns; every replica ends identical.
@Suite(.serialized, .timeLimit(.minutes(5))) struct FailoverTests {
    typealias Cluster = ClusterTests.Cluster

    func newTicket(_ n: Int) -> [String: Any] {
        ["subject": "Replicated ticket \(n)", "priority": "normal", "channel": "email",
         "requester": ["name": "Req \(n)", "email": "req\(n)@example.com"]]
    }

    /// Runs `ticketflow cluster digest` until every partition's replicas agree (followers
    /// catch up within a heartbeat or two); its last output.
    func replicasAgree(_ cluster: Cluster, within seconds: Int = 20) async throws -> TestSupport.Output {
        var last = try TestSupport.run(["cluster", "digest", cluster.file])
        for _ in 0..<(seconds * 4) where last.status != 0 {
            try await Task.sleep(for: .milliseconds(250))
            last = try TestSupport.run(["cluster", "digest", cluster.file])
        }
        return last
    }

    @Test func aKilledNodesPartitionIsServedElsewhereWithinSecondsAndHandedBack() async throws {
        let cluster = try Cluster.make("tf-e2e-failover", etcd: true, replication: 3)
        defer {
            _ = try? cluster.script("stop-local.sh")
            try? FileManager.default.removeItem(atPath: cluster.dir)
        }
        #expect(try cluster.script("start-local.sh") == 0)
        let clients = cluster.clients
        let names = ["n1", "n2", "n3"]
        let map = cluster.config.partitionMap

        var acknowledged: [String: String] = [:]   // id → subject
        for n in 1...30 {
            let key = n.isMultiple(of: 2) ? "failover-\(n)" : nil
            let reply = try await clients[names[n % 3]]!.post("/api/v1/tickets", newTicket(n), headers: key.map { ["Idempotency-Key": $0] } ?? [:])
            try #require(reply.status == 201, "create \(n): \(reply.text)")
            acknowledged[try #require(reply.json?["id"] as? String)] = "Replicated ticket \(n)"
        }
        let onN2 = acknowledged.keys.filter { map.owner(of: map.partition(forKey: $0)) == "n2" }.sorted()
        try #require(!onN2.isEmpty, "n2 owns some of the tickets")
        #expect(try await replicasAgree(cluster).status == 0, "every replica holds every acknowledged batch")

        // SIGKILL n2: writes to its tickets come back once its lease (5 s) has lapsed and a
        // follower was elected: well within 10 s.
        let killed = ContinuousClock.now
        kill(try cluster.pid("n2"), SIGKILL)
        var comment = try await clients["n1"]!.post("/api/v1/tickets/\(onN2[0])/comments", ["body": "while n2 is down", "public": false],
                                                     headers: ["Idempotency-Key": "down-1"])
        while comment.status != 201, ContinuousClock.now - killed < .seconds(15) {
            #expect(comment.status == 503, "a write to a dead leader's partition waits with 503, got \(comment.status) \(comment.text)")
            try await Task.sleep(for: .milliseconds(100))
            comment = try await clients["n1"]!.post("/api/v1/tickets/\(onN2[0])/comments", ["body": "while n2 is down", "public": false],
                                                     headers: ["Idempotency-Key": "down-1"])
        }
        let unavailable = ContinuousClock.now - killed
        #expect(comment.status == 201, "\(comment.status) \(comment.text)")
        #expect(unavailable < .seconds(10), "writes to n2's partition were back after \(unavailable)")
        let standIn = try #require(comment.headers["x-ticketflow-node"])
        #expect(standIn != "n2")
        print("failover: writes to the killed node's partition back after \(unavailable), served by \(standIn)")

        // Every acknowledged ticket reads, n2's from the node standing in; new keyed creates
        // for n2's partitions are taken there too.
        for (id, subject) in acknowledged {
            let reply = try await clients["n3"]!.get("/api/v1/tickets/\(id)")
            #expect(reply.status == 200 && reply.json?["subject"] as? String == subject, "\(id): \(reply.status)")
        }
        let keysForN2 = (1...200).map { "while-down-\($0)" }.filter { map.owner(of: map.partition(forKey: $0)) == "n2" }.prefix(3)
        for key in keysForN2 {
            let reply = try await clients["n3"]!.post("/api/v1/tickets", newTicket(100), headers: ["Idempotency-Key": key])
            #expect(reply.status == 201 && reply.headers["x-ticketflow-node"] == standIn, "\(key): \(reply.status) \(reply.text)")
            if let id = reply.json?["id"] as? String { acknowledged[id] = "Replicated ticket 100" }
        }

        // n2 comes back: it takes its partition back (a copy of the stand-in's store) and
        // serves it again; what was written while it was down is there.
        #expect(try cluster.script("start-local.sh", ["n2"]) == 0)
        let after = try await clients["n1"]!.post("/api/v1/tickets/\(onN2[0])/comments", ["body": "n2 is back", "public": false])
        #expect(after.status == 201 && after.headers["x-ticketflow-node"] == "n2", "\(after.status) \(after.headers) \(after.text)")
        let ticket = try await clients["n3"]!.get("/api/v1/tickets/\(onN2[0])")
        let bodies = (ticket.json?["comments"] as? [[String: Any]])?.compactMap { $0["body"] as? String } ?? []
        #expect(bodies == ["while n2 is down", "n2 is back"], "\(ticket.text)")
        for (id, subject) in acknowledged {
            let reply = try await clients["n2"]!.get("/api/v1/tickets/\(id)")
            #expect(reply.status == 200 && reply.json?["subject"] as? String == subject, "\(id) lost: \(reply.status)")
        }
        let digest = try await replicasAgree(cluster)
        #expect(digest.status == 0, "\(digest.stdout)")
    }
}
