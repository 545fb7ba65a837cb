import Foundation
import Synchronization
import Testing
import TicketflowCluster
import TicketflowTesting

/// Issue 14, "membership changes", end to end: a three-node cluster with replication factor 3
/// grows a fourth node, which takes over its share of the replicas after catching up, then a
/// node is removed and hands its share — its own partition included — over; keyed creates run
/// throughout, and every acknowledged one is there at the end, on replicas that agree.
@Suite(.serialized, .timeLimit(.minutes(6))) struct NodeChangeTests {
    typealias Cluster = ClusterTests.Cluster

    /// Rewrites the cluster file with `nodes` (of n1…n4, on the ports `make` picked), the
    /// partitions' homes kept as the cluster began.
    static func write(_ cluster: Cluster, nodes: [String]) throws -> ClusterConfig {
        let base = Int(cluster.config.nodes[0].http.split(separator: ":").last!)! - 1
        var yaml = "partitions: 16\netcd: [\"\(cluster.config.etcd![0])\"]\nreplication_factor: 3\nshards: [n1, n2, n3]\nnodes:\n"
        for name in nodes {
            let i = Int(name.dropFirst())!
            yaml += "  - {name: \(name), http: \"127.0.0.1:\(base + i)\", zmq: \"tcp://127.0.0.1:\(base + 10 + i)\", data: \(cluster.dir)/\(name), "
                + "public_key_file: \(cluster.dir)/\(name)/curve.pub}\n"
        }
        try yaml.write(toFile: cluster.file, atomically: true, encoding: .utf8)
        return try ClusterConfig.load(path: cluster.file)
    }

    /// Keyed creates, one after another, each retried with its key (on 503 or a node that does
    /// not answer, through the next node) until acknowledged: what was acknowledged, by key.
    final class Writer: Sendable {
        let acknowledged = Mutex<[String: String]>([:])   // id → key
        let through = Mutex<[String]>([])
        let stopped = Atomic<Bool>(false)
        /// While set, no create is sent (replicas compared meanwhile must not be written to).
        let paused = Atomic<Bool>(false)
        let idle = Atomic<Bool>(false)
        let failures = Mutex<[String]>([])

        /// Waits (at most 30 s) until `count` creates in all were acknowledged.
        func await(count: Int) async {
            for _ in 0..<300 where acknowledged.withLock({ $0.count }) < count { try? await Task.sleep(for: .milliseconds(100)) }
        }

        func run(ports: [String: String]) async {
            var n = 0
            while !stopped.load(ordering: .relaxed) {
                if paused.load(ordering: .relaxed) {
                    idle.store(true, ordering: .relaxed)
                    try? await Task.sleep(for: .milliseconds(20))
                    continue
                }
                idle.store(false, ordering: .relaxed)
                n += 1
                let key = "change-\(n)"
                let ticket: [String: Any] = ["subject": "Ticket \(n)", "priority": "normal", "channel": "email",
                                             "requester": ["name": "Req \(n)", "email": "req\(n)@example.com"]]
                let deadline = ContinuousClock.now + .seconds(30)
                var attempt = 0, done = false
                while !done, ContinuousClock.now < deadline {
                    let names = through.withLock { $0 }
                    let name = names[(n + attempt) % names.count]
                    attempt += 1
                    // A node restarting does not answer: the next one takes the same key.
                    guard let reply = try? await HTTPClient("http://" + ports[name]!).post("/api/v1/tickets", ticket, headers: ["Idempotency-Key": key]) else {
                        try? await Task.sleep(for: .milliseconds(100)); continue
                    }
                    // 200: the same key answered again — an earlier attempt was taken, its answer lost.
                    if reply.status == 201 || reply.status == 200, let id = reply.json?["id"] as? String {
                        acknowledged.withLock { $0[id] = key }
                        done = true
                    } else if reply.status == 503 {
                        try? await Task.sleep(for: .milliseconds(100))
                    } else {
                        failures.withLock { $0.append("\(key) through \(name): \(reply.status) \(reply.text)") }
                        done = true
                    }
                }
                if !done { failures.withLock { $0.append("\(key): not acknowledged within 30 s") } }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Waits (at most `seconds`) until `observer`'s cluster view places every partition's
    /// replicas as `expected` says, with no learner left and each led by one of its replicas;
    /// the last view.
    static func waitForPlacement(_ client: HTTPClient, _ expected: [String: Set<String>], seconds: Int = 90) async throws -> [[String: Any]] {
        var view: [[String: Any]] = []
        for _ in 0..<(seconds * 5) {
            view = (try? await client.get("/api/v1/cluster"))?.json?["replication"] as? [[String: Any]] ?? []
            let placed = Dictionary(uniqueKeysWithValues: view.compactMap { g in
                (g["partition"] as? String).map { ($0, Set(g["replicas"] as? [String] ?? [])) }
            })
            // Placed: the replicas expected, no learner left, each led by one of its replicas.
            let led = view.allSatisfy { g in
                !(g["learner"] is String) && (g["leader"] as? String).map { (g["replicas"] as? [String] ?? []).contains($0) } == true
            }
            if placed == expected, led { return view }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("replicas never placed as \(expected): \(view)")
        return view
    }

    @Test func aNodeAddedTakesItsShareAndANodeRemovedHandsItsOver() async throws {
        try await Cluster.running("tf-e2e-nodes", etcd: true, replication: 3) { cluster in
            var ports = Dictionary(uniqueKeysWithValues: cluster.config.nodes.map { ($0.name, $0.http) })
            // A user made before n4 exists: n4 starts from a peer's users, tokens and workflows.
            let user = try await cluster.clients["n1"]!.post("/api/v1/users", ["name": "Ann", "email": "ann@example.com", "role": "agent", "line": "L1"])
            #expect(user.status == 201, "\(user.text)")
            let annToken = try #require(user.json?["token"] as? String)
            let writer = Writer()
            writer.through.withLock { $0 = ["n1", "n2", "n3"] }
            let grown = try Self.write(cluster, nodes: ["n1", "n2", "n3", "n4"])
            ports["n4"] = grown.node("n4")!.http
            let portsNow = ports
            let writing = Task { await writer.run(ports: portsNow) }

            // Adding n4: every node restarted with the new file, one at a time, then n4 started and
            // the file's nodes recorded as those replicas are placed on.
            for name in ["n1", "n2", "n3"] {
                writer.through.withLock { $0 = ["n1", "n2", "n3"].filter { $0 != name } }
                #expect(try cluster.script("stop-local.sh", [name]) == 0)
                #expect(try cluster.script("start-local.sh", [name]) == 0)
            }
            writer.through.withLock { $0 = ["n1", "n2", "n3"] }
            #expect(try cluster.script("start-local.sh", ["n4"]) == 0)
            let annOnN4 = try await HTTPClient("http://" + ports["n4"]!, token: annToken).get("/api/v1/queues")
            #expect(annOnN4.status == 200, "a user made before n4 was added, on n4: \(annOnN4.status) \(annOnN4.text)")
            let place = try TestSupport.run(["cluster", "place", cluster.file])
            #expect(place.status == 0, "\(place.stdout) \(place.stderr)")
            let wanted = Dictionary(uniqueKeysWithValues: grown.shardNames.map { ($0, Set(grown.replicaSet(of: $0))) })
            #expect(wanted.values.contains { $0.contains("n4") } && wanted.values.contains { !$0.contains("n3") })
            let started = ContinuousClock.now
            _ = try await Self.waitForPlacement(HTTPClient("http://" + ports["n1"]!), wanted)
            print("node added: replicas placed on n4 after \(ContinuousClock.now - started): \(place.stdout)")
            writer.through.withLock { $0 = ["n1", "n2", "n3", "n4"] }
            await writer.await(count: 3)
            let duringAdd = writer.acknowledged.withLock { $0.count }
            // Writes paused while the replicas are compared (followers catch up within a heartbeat).
            writer.paused.store(true, ordering: .relaxed)
            for _ in 0..<1500 where !writer.idle.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(20)) }
            let agreed = try await FailoverTests.replicasAgree(cluster)
            #expect(agreed.status == 0, "every replica of every partition, n4's included, agrees: \(agreed.stdout)")
            writer.paused.store(false, ordering: .relaxed)

            // Removing n3, while it runs: the file without it, recorded; n3's partition is placed
            // on the others (n3 gives its key up once out) — then n3 is stopped.
            writer.through.withLock { $0 = ["n1", "n2", "n4"] }
            let n3 = try cluster.pid("n3")
            let shrunk = try Self.write(cluster, nodes: ["n1", "n2", "n4"])
            let place2 = try TestSupport.run(["cluster", "place", cluster.file])
            #expect(place2.status == 0, "\(place2.stdout) \(place2.stderr)")
            let wanted2 = Dictionary(uniqueKeysWithValues: shrunk.shardNames.map { ($0, Set(shrunk.replicaSet(of: $0))) })
            #expect(wanted2.values.allSatisfy { !$0.contains("n3") } && wanted2["n3"] == ["n1", "n2", "n4"])
            let started2 = ContinuousClock.now
            let view = try await Self.waitForPlacement(HTTPClient("http://" + ports["n1"]!), wanted2)
            print("node removed: its share placed elsewhere after \(ContinuousClock.now - started2): \(place2.stdout)")
            let leaderOfN3 = view.first { $0["partition"] as? String == "n3" }?["leader"] as? String
            #expect(leaderOfN3 != nil && leaderOfN3 != "n3", "n3's partition is led by another node now: \(view)")
            // n3 placed itself out of its own partition and gave its key up, still running: it did
            // not exit to be restarted (that is for a node deposed while it still is a replica).
            #expect(try cluster.pid("n3") == n3 && kill(n3, 0) == 0, "n3 runs on, the same process")
            kill(n3, SIGTERM)
            for _ in 0..<100 where kill(n3, 0) == 0 { try await Task.sleep(for: .milliseconds(100)) }
            #expect(kill(n3, 0) != 0, "n3 stopped")
            try await Task.sleep(for: .seconds(2))
            await writer.await(count: duringAdd + 3)
            writer.stopped.store(true, ordering: .relaxed)
            await writing.value
            let duringRemoval = writer.acknowledged.withLock { $0.count } - duringAdd

            let acknowledged = writer.acknowledged.withLock { $0 }
            #expect(writer.failures.withLock { $0 }.isEmpty, "\(writer.failures.withLock { $0 })")
            // Writes went on through both changes (how many depends on the machine's load).
            #expect(duringAdd >= 3 && duringRemoval >= 3, "creates acknowledged while n4 was added: \(duringAdd), while n3 was removed: \(duringRemoval)")
            // Every acknowledged create is there, through each remaining node; n3's tickets
            // included, and they take writes.
            let map = shrunk.partitionMap
            for (name, ids) in [("n1", Array(acknowledged.keys)), ("n4", Array(acknowledged.keys.sorted().prefix(300)))] {
                for id in ids {
                    var reply = try await HTTPClient("http://" + ports[name]!).get("/api/v1/tickets/\(id)")
                    // A 503 is asked again, as clients are told to (a peer's heartbeat late on a busy machine).
                    for _ in 0..<50 where reply.status == 503 {
                        try await Task.sleep(for: .milliseconds(200))
                        reply = try await HTTPClient("http://" + ports[name]!).get("/api/v1/tickets/\(id)")
                    }
                    #expect(reply.status == 200, "\(id) (\(acknowledged[id]!)) through \(name): \(reply.status) \(reply.text)")
                }
            }
            let onN3 = try #require(acknowledged.keys.first { map.owner(of: map.partition(forKey: $0)) == "n3" })
            let comment = try await HTTPClient("http://" + ports["n2"]!).post("/api/v1/tickets/\(onN3)/comments", ["body": "after n3 left", "public": false],
                                                                             headers: ["Idempotency-Key": "after-n3"])
            #expect(comment.status == 201 && comment.headers["x-ticketflow-node"] != "n3", "\(comment.status) \(comment.text)")
            let digest = try await FailoverTests.replicasAgree(cluster)
            #expect(digest.status == 0, "\(digest.stdout)")
            print("nodes changed: \(duringAdd) creates acknowledged while n4 was added, \(duringRemoval) while n3 was removed; all present")
        }
    }
}
