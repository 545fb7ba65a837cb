import Foundation
import Testing
import TicketflowCluster
import TicketflowCoordination
import TicketflowTesting

/// End-to-end: three real nodes started by `cluster/start-local.sh`, talking over ZeroMQ on
/// loopback; one is killed with SIGKILL and restarted on its own data directory.
@Suite(.serialized, .timeLimit(.minutes(4))) struct ClusterTests {
    struct Cluster {
        let dir: String
        let file: String
        let config: ClusterConfig
        var clients: [String: HTTPClient] {
            Dictionary(uniqueKeysWithValues: config.nodes.map { ($0.name, HTTPClient("http://" + $0.http)) })
        }

        /// A cluster file of three nodes on free-looking ports, with data under `dir`; links are
        /// CurveZMQ (start-local.sh makes the keys) unless `insecure`.
        static func make(_ prefix: String, insecure: Bool = false, etcd: Bool = false, replication: Int? = nil) throws -> Cluster {
            let dir = try TestSupport.temporaryDirectory(prefix)
            // Below the kernel's ephemeral range (32768 and up here), where ports picked by the
            // system for other tests' servers and clients took these ports now and then.
            let base = Int.random(in: 10_000..<32_000)
            // With `etcd`, its etcd too, on this machine: start-local.sh starts it (data in dir/etcd).
            var yaml = "partitions: 16\n" + (insecure ? "insecure: true\n" : "") + (etcd ? "etcd: [\"http://127.0.0.1:\(base + 50)\"]\n" : "")
                + (replication.map { "replication_factor: \($0)\n" } ?? "") + "nodes:\n"
            for i in 1...3 {
                yaml += "  - {name: n\(i), http: \"127.0.0.1:\(base + i)\", zmq: \"tcp://127.0.0.1:\(base + 10 + i)\", data: \(dir)/n\(i), "
                    + "public_key_file: \(dir)/n\(i)/curve.pub}\n"
            }
            let file = dir + "/cluster.yaml"
            try yaml.write(toFile: file, atomically: true, encoding: .utf8)
            return Cluster(dir: dir, file: file, config: try ClusterConfig.load(path: file))
        }

        /// A cluster made as `make` does, started with `cluster/start-local.sh`, handed to
        /// `body`, then stopped and its directory removed, whatever `body` did.
        static func running(_ prefix: String, etcd: Bool = false, replication: Int? = nil,
                            _ body: (Cluster) async throws -> Void) async throws {
            let cluster = try make(prefix, etcd: etcd, replication: replication)
            defer {
                _ = try? cluster.script("stop-local.sh")   // already stopped, or never started: nothing to stop
                try? FileManager.default.removeItem(atPath: cluster.dir)   // a leftover temporary directory is harmless
            }
            #expect(try cluster.script("start-local.sh") == 0)
            try await body(cluster)
        }

        /// Runs `cluster/start-local.sh` or `stop-local.sh` with this cluster file.
        func script(_ name: String, _ nodes: [String] = []) throws -> Int32 {
            let out = try TestSupport.runScript("cluster/\(name)", [file] + nodes, timeout: 90)
            if out.status != 0 { Issue.record("\(name) failed: \(out.stdout) \(out.stderr)") }
            return out.status
        }

        func pid(_ node: String) throws -> Int32 {
            Int32(try String(contentsOfFile: "\(dir)/\(node)/node.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        }

        /// Waits (at most 20 s) until `observer` sees exactly `alive` as the live members.
        func waitForLiveness(seenBy observer: String, alive: Set<String>) async throws {
            for _ in 0..<200 {
                if let reply = try? await clients[observer]!.get("/api/v1/cluster"),
                   let members = reply.json?["members"] as? [[String: Any]] {
                    let live = Set(members.filter { $0["alive"] as? Bool == true }.compactMap { $0["name"] as? String })
                    if live == alive { return }
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("\(observer) never saw exactly \(alive.sorted()) alive")
        }
    }

    func newTicket(_ n: Int) -> [String: Any] {
        ["subject": "Cluster ticket \(n)", "priority": "normal", "channel": "email",
         "requester": ["name": "Req \(n)", "email": "req\(n)@example.com"]]
    }

    @Test func ticketsSpreadSurviveANodeKillAnd503sNameTheOwner() async throws {
        let cluster = try Cluster.make("tf-e2e-cluster")
        defer {
            _ = try? cluster.script("stop-local.sh")
            try? FileManager.default.removeItem(atPath: cluster.dir)
        }
        #expect(try cluster.script("start-local.sh") == 0)
        // The start script returns only when every node is ready — it has heard every peer —
        // so the keyed creates below, for every partition through every node, work at once.
        let names = ["n1", "n2", "n3"]
        for n in names {
            let ready = try await cluster.clients[n]!.get("/readyz")
            #expect(ready.status == 200 && ready.text == #"{"status":"ready","waiting_for":[]}"#, "\(n): \(ready.text)")
        }
        let clients = cluster.clients
        let map = cluster.config.partitionMap

        // Creates through every node, with and without an Idempotency-Key.
        var created: [String: String] = [:]   // id → subject
        var keyed: [String: String] = [:]     // key → id
        var keyedNumber: [String: Int] = [:]  // key → n of the request that used it
        for n in 1...30 {
            let via = names[n % 3]
            let key = n.isMultiple(of: 2) ? "cluster-key-\(n)" : nil
            let reply = try await clients[via]!.post("/api/v1/tickets", newTicket(n), headers: key.map { ["Idempotency-Key": $0] } ?? [:])
            try #require(reply.status == 201, "create via \(via): \(reply.text)")
            let id = try #require(reply.json?["id"] as? String)
            created[id] = "Cluster ticket \(n)"
            if let key { keyed[key] = id; keyedNumber[key] = n }
        }
        #expect(created.count == 30, "ticket ids are unique cluster-wide")
        let owners = Dictionary(grouping: created.keys) { map.owner(of: map.partition(forKey: $0)) }
        #expect(owners.keys.count == 3, "tickets spread over every node: \(owners.mapValues(\.count))")

        // Each ticket read through a node other than the one it was created on.
        for (i, (id, subject)) in created.sorted(by: { $0.key < $1.key }).enumerated() {
            let reply = try await clients[names[i % 3]]!.get("/api/v1/tickets/\(id)")
            #expect(reply.status == 200 && reply.json?["subject"] as? String == subject, "ticket \(id): \(reply.status)")
        }
        let page = try await clients["n3"]!.get("/api/v1/tickets?limit=500")
        #expect((page.json?["tickets"] as? [Any])?.count == 30)

        // A keyed comment on one of n2's tickets, sent through n1 (forwarded to n2).
        let commented = try #require(owners["n2"]?.sorted().first)
        let note: [String: Any] = ["body": "Forwarded note", "public": false]
        let noted = try await clients["n1"]!.post("/api/v1/tickets/\(commented)/comments", note, headers: ["Idempotency-Key": "note-1"])
        #expect(noted.status == 201 && noted.headers["x-ticketflow-node"] == "n2", "\(noted.status) \(noted.text)")

        // SIGKILL n2: its partitions answer 503 with Retry-After; the others keep working.
        kill(try cluster.pid("n2"), SIGKILL)
        try await cluster.waitForLiveness(seenBy: "n1", alive: ["n1", "n3"])
        try await cluster.waitForLiveness(seenBy: "n3", alive: ["n1", "n3"])
        let onN2 = owners["n2"] ?? []
        #expect(!onN2.isEmpty)
        for id in created.keys {
            for via in ["n1", "n3"] {
                let reply = try await clients[via]!.get("/api/v1/tickets/\(id)")
                if onN2.contains(id) {
                    #expect(reply.status == 503 && reply.headers["retry-after"] != nil, "ticket \(id) via \(via): \(reply.status)")
                    #expect((reply.json?["error"] as? [String: Any])?["code"] as? String == "owner_unavailable")
                } else {
                    #expect(reply.status == 200, "ticket \(id) via \(via) while n2 is down: \(reply.status)")
                }
            }
        }
        let whileDown = try await clients["n1"]!.post("/api/v1/tickets", newTicket(31))
        #expect(whileDown.status == 201, "creates without a key go to live nodes")
        if let id = whileDown.json?["id"] as? String { created[id] = "Cluster ticket 31" }
        let partial = try await clients["n3"]!.get("/api/v1/tickets?limit=500")
        #expect(partial.json?["unavailable_nodes"] as? [String] == ["n2"])
        #expect((partial.json?["tickets"] as? [Any])?.count == created.count - onN2.count)
        let metrics = try await clients["n3"]!.get("/api/v1/cluster/metrics").text
        #expect(metrics.contains("ticketflow_cluster_up{node=\"n2\"} 0") && metrics.contains("ticketflow_cluster_up{node=\"n1\"} 1"))
        #expect(metrics.contains("ticketflow_tickets_active{node=\"n1\"}") && !metrics.contains("ticketflow_tickets_active{node=\"n2\"}"))

        // Restart n2 from its own data directory: every acknowledged ticket is back everywhere.
        #expect(try cluster.script("start-local.sh") == 0)
        for n in names { try await cluster.waitForLiveness(seenBy: n, alive: Set(names)) }
        for (id, subject) in created {
            for via in names {
                let reply = try await clients[via]!.get("/api/v1/tickets/\(id)")
                #expect(reply.status == 200 && reply.json?["subject"] as? String == subject, "ticket \(id) via \(via) after restart: \(reply.status)")
            }
        }
        // The comment's retry through another node is answered from the first run, once.
        let retried = try await clients["n3"]!.post("/api/v1/tickets/\(commented)/comments", note, headers: ["Idempotency-Key": "note-1"])
        #expect(retried.status == 200 && retried.headers["idempotent-replayed"] == "true", "\(retried.status) \(retried.text)")
        #expect((retried.json?["comments"] as? [[String: Any]])?.filter { $0["body"] as? String == "Forwarded note" }.count == 1)
        // A retried create with a key seen before returns the same ticket, whichever node takes it.
        for (key, id) in keyed.prefix(5) {
            for via in names {
                let retry = try await clients[via]!.post("/api/v1/tickets", newTicket(keyedNumber[key]!), headers: ["Idempotency-Key": key])
                #expect(retry.json?["id"] as? String == id, "retry of \(key) via \(via)")
                #expect(retry.status == 200 && retry.headers["idempotent-replayed"] == "true", "retry of \(key) via \(via): \(retry.status)")
            }
        }
        let all = try await clients["n2"]!.get("/api/v1/tickets?limit=500")
        #expect((all.json?["tickets"] as? [Any])?.count == created.count, "no duplicates")
        #expect(all.json?["unavailable_nodes"] as? [String] == [])

        // A storm spreads its load over the three nodes.
        let targets = names.map { "http://" + cluster.config.node($0)!.http }.joined(separator: ",")
        let storm = try TestSupport.run(["storm", "--target", targets, "--rate", "30", "--duration", "2s", "--profile", "workflows/storms/steady.yaml", "--json"], timeout: 90)
        #expect(storm.status == 0, "storm: \(storm.stderr.suffix(500))")
        let report = (try? JSONSerialization.jsonObject(with: Data(storm.stdout.utf8))) as? [String: Any]
        let stormCreates = (report?["ticketsCreated"] as? Int) ?? 0
        #expect(stormCreates > 20)
        #expect((report?["errors"] as? [String: Any])?.isEmpty == true, "\(report?["errors"] ?? "")")
        let afterStorm = try await clients["n1"]!.get("/api/v1/tickets?limit=500")
        #expect((afterStorm.json?["tickets"] as? [Any])?.count == created.count + stormCreates)
        #expect((try await clients["n3"]!.get("/api/v1/agents").json?["agents"] as? [Any])?.count == 20, "storm agents, gathered from their owners")
        let status = try await clients["n1"]!.get("/api/v1/cluster")
        let members = status.json?["members"] as? [[String: Any]] ?? []
        #expect(members.count == 3 && members.allSatisfy { ($0["load"] as? [String: Any])?["active_tickets"] as? Int ?? 0 > 0 })
        #expect((status.json?["partition_map"] as? [String])?.count == 16)

        // A requester known to n1 works through n1 on tickets every node owns: the owner
        // applies the policy to the identity n1 forwards, so others' tickets stay hidden.
        let made = try await clients["n1"]!.post("/api/v1/users", ["name": "Ruth", "email": "ruth@example.com", "role": "requester"])
        try #require(made.status == 201, "\(made.text)")
        let ruth = HTTPClient(clients["n1"]!.baseURL, token: try #require(made.json?["token"] as? String))
        var hers: [String] = []
        for n in 0..<12 {
            let reply = try await ruth.post("/api/v1/tickets", ["subject": "Ruth \(n)", "requester": ["email": "someone@else"]])
            try #require(reply.status == 201, "\(reply.text)")
            hers.append(try #require(reply.json?["id"] as? String))
        }
        #expect(Set(hers.map { map.owner(of: map.partition(forKey: $0)) }).count > 1, "her tickets live on several nodes")
        for id in hers {
            let read = try await ruth.get("/api/v1/tickets/\(id)")
            #expect(read.status == 200 && read.json?["sla"] == nil && read.json?["assigned_to"] != nil, "\(id): \(read.text)")
        }
        for id in created.keys.sorted().prefix(6) { #expect(try await ruth.get("/api/v1/tickets/\(id)").status == 404) }
        let ruthsPage = try await ruth.get("/api/v1/tickets?limit=500")
        #expect(Set((ruthsPage.json?["tickets"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []) == Set(hers))
        #expect(try await HTTPClient(clients["n2"]!.baseURL, token: nil).get("/api/v1/tickets").status == 401)
        // Users and tokens are the same on every node: Ruth's token works through n2 and n3
        // as well, and revoked through n3 it stops working everywhere at once.
        let ruthID = try #require(made.json?["id"] as? String)
        for via in ["n2", "n3"] {
            let elsewhere = HTTPClient(clients[via]!.baseURL, token: ruth.token)
            #expect(try await elsewhere.get("/api/v1/tickets/\(hers[0])").status == 200, "Ruth via \(via)")
        }
        let tokens = try #require(try await clients["n3"]!.get("/api/v1/users/\(ruthID)/tokens").json?["tokens"] as? [[String: Any]])
        let tokenID = try #require(tokens.first?["id"] as? String)
        let revoked = try await clients["n3"]!.request("DELETE", "/api/v1/tokens/\(tokenID)")
        #expect(revoked.status == 200 && revoked.headers["x-ticketflow-chosen"] == nil, "\(revoked.status) \(revoked.text)")
        for via in names {
            #expect(try await HTTPClient(clients[via]!.baseURL, token: ruth.token).get("/api/v1/tickets/\(hers[0])").status == 401, "revoked, via \(via)")
        }
        #expect(made.headers["x-ticketflow-chosen"] == nil, "the cluster's header never reaches a client")
    }

    /// Waits (at most 20 s) until `check` holds, re-reading with `read` every 100 ms.
    func eventually(_ what: String, _ read: () async throws -> Bool) async throws {
        for _ in 0..<200 {
            if (try? await read()) == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("never: \(what)")
    }

    @Test func oneAgentWorksTicketsOfEveryNodeThroughTheRoutingOwner() async throws {
        let cluster = try Cluster.make("tf-e2e-routing")
        defer {
            _ = try? cluster.script("stop-local.sh")
            try? FileManager.default.removeItem(atPath: cluster.dir)
        }
        #expect(try cluster.script("start-local.sh") == 0)
        let names = ["n1", "n2", "n3"]
        for n in names { try await cluster.waitForLiveness(seenBy: n, alive: Set(names)) }
        let clients = cluster.clients
        let map = cluster.config.partitionMap
        let owner = try #require(try await clients["n1"]!.get("/api/v1/cluster").json?["routing_owner"] as? String)
        let others = names.filter { $0 != owner }

        // One first-line agent, registered through a node that is not the routing owner.
        let put = try await clients[others[0]]!.request("PUT", "/api/v1/agents/solo", json: ["name": "Solo", "line": "L1", "capacity": 32, "presence": "online"])
        #expect(put.status == 201, "\(put.text)")
        var ids: [String] = []
        for n in 1...30 {
            let reply = try await clients[names[n % 3]]!.post("/api/v1/tickets", newTicket(n))
            ids.append(try #require(reply.json?["id"] as? String))
        }
        #expect(Set(ids.map { map.owner(of: map.partition(forKey: $0)) }).count == 3, "tickets on every node")
        // Every ticket, whichever node holds it, reaches the one agent.
        try await eventually("all 30 tickets assigned to solo") {
            let body = try await clients[others[1]]!.get("/api/v1/agents/solo/tickets").json
            return (body?["tickets"] as? [Any])?.count == 30
        }
        for (i, id) in ids.enumerated() {
            #expect(try await clients[names[i % 3]]!.get("/api/v1/tickets/\(id)").json?["assignee"] as? String == "solo")
        }
        #expect(try await clients[owner]!.get("/api/v1/agents/solo").json?["load"] as? Int == 30)
        let routingMetrics = try await clients[owner]!.get("/metrics").text
        #expect(routingMetrics.contains("ticketflow_routing_proposals_total{outcome=\"decided\"} 30"), "\(routingMetrics.suffix(900))")
        #expect(routingMetrics.contains("ticketflow_routing_open_tickets 30") && routingMetrics.contains("ticketflow_routing_members_learned 3"))

        // By hand: an agent the routing owner does not know is refused; a known one is taken.
        let ghost = try await clients[others[0]]!.post("/api/v1/tickets/\(ids[0])/assign", ["agent": "ghost"])
        #expect(ghost.status == 409 && ghost.text.contains("unknown_agent"), "\(ghost.status) \(ghost.text)")
        _ = try await clients[others[1]]!.request("PUT", "/api/v1/agents/helper", json: ["name": "Helper", "line": "L1", "presence": "away"])
        let byHand = try await clients[others[0]]!.post("/api/v1/tickets/\(ids[0])/assign", ["agent": "helper"])
        #expect(byHand.json?["assignee"] as? String == "helper")
        try await eventually("solo's load falls to 29 when a ticket is taken from him") {
            try await clients[owner]!.get("/api/v1/agents/solo").json?["load"] as? Int == 29
        }

        // The routing owner is killed: agents answer 503 everywhere, tickets go on, new ones wait.
        kill(try cluster.pid(owner), SIGKILL)
        for n in others { try await cluster.waitForLiveness(seenBy: n, alive: Set(others)) }
        let down = try await clients[others[0]]!.get("/api/v1/agents/solo")
        #expect(down.status == 503 && down.headers["retry-after"] != nil)
        let refused = try await clients[others[1]]!.post("/api/v1/tickets/\(ids[1])/assign", ["agent": "helper"])
        #expect(refused.status == 503, "a manual assignment needs the agent list: \(refused.status)")
        var waiting: [String] = []
        for n in 31...33 {
            let reply = try await clients[others[n % 2]]!.post("/api/v1/tickets", newTicket(n))
            #expect(reply.status == 201)
            waiting.append(try #require(reply.json?["id"] as? String))
        }
        for id in waiting { #expect(try await clients[others[0]]!.get("/api/v1/tickets/\(id)").json?["assignee"] is NSNull) }

        // Back from its own data directory, it learns every node again and routes what waited.
        #expect(try cluster.script("start-local.sh") == 0)
        for n in names { try await cluster.waitForLiveness(seenBy: n, alive: Set(names)) }
        try await eventually("the tickets created while the routing owner was down are assigned") {
            for id in waiting where try await clients[others[1]]!.get("/api/v1/tickets/\(id)").json?["assignee"] as? String != "solo" { return false }
            return true
        }
        #expect(try await clients[owner]!.get("/api/v1/agents/solo").json?["load"] as? Int == 32, "capacity counts tickets of every node")
        let agents = try await clients[others[0]]!.get("/api/v1/agents").json?["agents"] as? [[String: Any]]
        #expect(agents?.compactMap { $0["id"] as? String } == ["helper", "solo"], "agents survive the routing owner's restart")
    }

    /// Issue 14: each node keeps its membership in etcd under a lease, and is ready only while
    /// it does: etcd stopped, /readyz answers 503 waiting for it; etcd back, ready again. A node
    /// stopped takes its key with it.
    @Test func readyMeansEtcdHoldsTheMembership() async throws {
        let cluster = try Cluster.make("tf-e2e-etcd", etcd: true)
        defer {
            _ = try? cluster.script("stop-local.sh")
            try? FileManager.default.removeItem(atPath: cluster.dir)
        }
        #expect(try cluster.script("start-local.sh") == 0)
        let etcd = EtcdClient(endpoints: cluster.config.etcd ?? [])
        let prefix = cluster.config.etcdPrefix + "members/"
        var members: [String] = []
        for _ in 0..<50 where members.count < 3 {
            members = try await etcd.keys(prefix: prefix).map { String($0.key.dropFirst(prefix.count)) }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(members == ["n1", "n2", "n3"])
        for n in ["n1", "n2", "n3"] { #expect(try await cluster.clients[n]!.get("/readyz").status == 200) }

        // etcd stops: within its lease's TTL (5 s) no node is ready, each waiting for etcd.
        let pid = Int32(try String(contentsOfFile: cluster.dir + "/etcd.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))!
        kill(pid, SIGKILL)
        var answer = ""
        for _ in 0..<100 {
            let reply = try await cluster.clients["n1"]!.get("/readyz")
            answer = "\(reply.status) \(reply.text)"
            if reply.status == 503 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(answer == #"503 {"status":"not_ready","waiting_for":["etcd"]}"#)
        // Healthy all the while: liveness is not readiness.
        #expect(try await cluster.clients["n1"]!.get("/healthz").status == 200)

        // etcd back (the script starts what is not running): each node takes a new lease within
        // a second or two, and is ready again.
        #expect(try cluster.script("start-local.sh") == 0)
        for n in ["n1", "n2", "n3"] {
            var status = 0
            for _ in 0..<100 where status != 200 {
                status = try await cluster.clients[n]!.get("/readyz").status
                if status != 200 { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(status == 200, "\(n) not ready after etcd came back")
        }
        // A node stopped gracefully revokes its lease: its key goes at once, not after the TTL.
        #expect(try cluster.script("stop-local.sh", ["n3"]) == 0)
        members = try await etcd.keys(prefix: prefix).map { String($0.key.dropFirst(prefix.count)) }
        #expect(members == ["n1", "n2"])
    }

    /// Issue 14: over CurveZMQ a peer whose key the cluster file does not list is refused at
    /// the handshake, logged and counted; a plain-text peer gets no frame in at all.
    @Test func aPeerWithAnUnlistedKeyIsRefusedLoggedAndCounted() async throws {
        let cluster = try Cluster.make("tf-e2e-curve")
        defer {
            _ = try? cluster.script("stop-local.sh")
            try? FileManager.default.removeItem(atPath: cluster.dir)
        }
        #expect(try cluster.script("start-local.sh", ["n1", "n2"]) == 0)
        try await cluster.waitForLiveness(seenBy: "n1", alive: ["n1", "n2"])
        let keyMode = try FileManager.default.attributesOfItem(atPath: "\(cluster.dir)/n1/curve.key")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let n1 = cluster.config.node("n1")!
        let n1Key = try String(contentsOfFile: n1.publicKeyPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        // A rogue that knows n1's public key and claims to be n2, with a key of its own.
        let rogueKeys = try CurveKeyPair.generate()
        let rogue = try Transport(node: "n2", endpoint: "tcp://127.0.0.1:\(Int.random(in: 10_000..<32_000))", peers: ["n1": n1.zmq, "n2": "tcp://127.0.0.1:1"],
                                  security: .curve(own: rogueKeys, peers: ["n1": n1Key, "n2": rogueKeys.publicKey])) { _ in .success([]) }
        defer { rogue.stop() }
        await #expect(throws: Transport.Failure.self) {
            _ = try await rogue.request("n1", type: "actor", payload: [1, 2, 3], timeout: .seconds(2))
        }
        // And a plain-text peer sending junk.
        let context = ZMQContext()
        let plain = try ZMQSocket(context, .dealer)
        try plain.setRoutingID("evil")
        try plain.connect(n1.zmq)
        for junk: [UInt8] in [[1], [9, 9, 9]] { _ = try plain.send([junk]) }

        var refused = 0
        var malformed = -1
        for _ in 0..<50 {
            let metrics = try await cluster.clients["n1"]!.get("/metrics").text.split(separator: "\n")
            func value(_ name: String) -> Int? { metrics.first { $0.hasPrefix(name + " ") }.flatMap { Int($0.split(separator: " ").last!) } }
            refused = value("ticketflow_cluster_refused_peers_total") ?? 0
            malformed = value("ticketflow_cluster_malformed_frames_total") ?? -1
            if refused >= 1 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(refused >= 1 && malformed == 0, "refused \(refused), malformed \(malformed)")
        let log = try String(contentsOfFile: "\(cluster.dir)/n1/node.log", encoding: .utf8)
        #expect(log.contains("refused a peer from") && log.contains(rogueKeys.publicKey))
        // The listed peers still work together.
        let id = try #require(try await cluster.clients["n2"]!.post("/api/v1/tickets", newTicket(1)).json?["id"] as? String)
        #expect(try await cluster.clients["n1"]!.get("/api/v1/tickets/\(id)").status == 200)
    }

    /// On plain-text links (`insecure: true`), the frame parser is the only guard: garbage is
    /// dropped and counted, and the node keeps serving.
    @Test func garbageOnTheZeroMQPortIsDroppedAndCounted() async throws {
        let cluster = try Cluster.make("tf-e2e-garbage", insecure: true)
        defer {
            _ = try? cluster.script("stop-local.sh")
            try? FileManager.default.removeItem(atPath: cluster.dir)
        }
        #expect(try cluster.script("start-local.sh", ["n1", "n2"]) == 0)
        try await cluster.waitForLiveness(seenBy: "n1", alive: ["n1", "n2"])
        let target = cluster.config.node("n1")!.zmq

        // A ZeroMQ peer that speaks nonsense, one that claims to be a member it is not, and a
        // plain TCP client that does not speak ZMTP at all.
        let context = ZMQContext()
        let evil = try ZMQSocket(context, .dealer)
        try evil.setRoutingID("evil")
        try evil.connect(target)
        let impostor = try ZMQSocket(context, .dealer)
        try impostor.setRoutingID("n2")
        try impostor.connect(target)
        try await Task.sleep(for: .milliseconds(300))
        for junk: [UInt8] in [[], [1], [9, 9, 9, 9, 9, 9], [1, 0, 0xFF, 0xFF, 0xFF], Array(repeating: 0xAB, count: 1000)] {
            _ = try evil.send([junk])
            _ = try evil.send([junk, junk])
        }
        _ = try impostor.send([Envelope(kind: .request, correlation: 1, sender: "n3", type: "http", payload: [1, 2, 3]).encode()])
        let port = Int(target.split(separator: ":").last!)!
        try sendRawTCP(port: port, bytes: Array("GET / HTTP/1.1\r\n\r\n".utf8) + Array(repeating: 0xFF, count: 4096))

        let n1 = cluster.clients["n1"]!
        var counted = 0
        for _ in 0..<50 {
            let metrics = try await n1.get("/metrics").text
            counted = metrics.split(separator: "\n").first { $0.hasPrefix("ticketflow_cluster_malformed_frames_total ") }
                .flatMap { Int($0.split(separator: " ").last!) } ?? 0
            if counted >= 10 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(counted >= 10, "malformed frames counted: \(counted)")
        // Still serving, locally and across the cluster.
        let created = try await n1.post("/api/v1/tickets", newTicket(1))
        #expect(created.status == 201)
        for n in 1...6 {
            let id = try #require(try await cluster.clients["n2"]!.post("/api/v1/tickets", newTicket(n)).json?["id"] as? String)
            #expect(try await n1.get("/api/v1/tickets/\(id)").status == 200)
        }
        let log = try String(contentsOfFile: "\(cluster.dir)/n1/node.log", encoding: .utf8)
        #expect(log.contains("dropped a malformed frame from evil"))

        // Bad HTTP input about another node's ticket gets the same 4xx as on its owner.
        let map = cluster.config.partitionMap
        var onN2: String?
        for _ in 0..<20 where onN2 == nil {
            let id = try #require(try await n1.post("/api/v1/tickets", newTicket(0)).json?["id"] as? String)
            if map.owner(of: map.partition(forKey: id)) == "n2" { onN2 = id }
        }
        let remote = try #require(onN2)
        let huge = Data(#"{"body":""#.utf8) + Data(repeating: UInt8(ascii: "x"), count: 2 << 20) + Data(#""}"#.utf8)
        for (body, status, code) in [(huge, 413, "body_too_large"), (Data("{not json".utf8), 400, "malformed_json")] {
            let reply = try await n1.request("POST", "/api/v1/tickets/\(remote)/comments", raw: body)
            #expect(reply.status == status && (reply.json?["error"] as? [String: Any])?["code"] as? String == code, "\(reply.status) \(reply.text.prefix(300))")
        }
        #expect((try await n1.get("/api/v1/tickets/\(remote)").json?["comments"] as? [Any])?.isEmpty == true)
        // A path no route has is 404; a method a path does not answer is 405, as on one node.
        for (method, path, status, code) in [("GET", "/api/v1/nothing", 404, "unknown_route"),
                                             ("DELETE", "/api/v1/tickets/\(remote)", 405, "method_not_allowed")] {
            let reply = try await n1.request(method, path)
            #expect(reply.status == status && (reply.json?["error"] as? [String: Any])?["code"] as? String == code, "\(method) \(path): \(reply.status) \(reply.text)")
        }
    }

    @Test func aBadClusterFileOrNodeIsRefusedClearly() throws {
        let cluster = try Cluster.make("tf-e2e-cluster-bad")
        defer { try? FileManager.default.removeItem(atPath: cluster.dir) }
        let unknown = try TestSupport.run(["serve", "--cluster", cluster.file, "--node", "n9"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no node 'n9'") && unknown.stderr.contains("n1, n2, n3"), "\(unknown.stderr)")
        try "partitions: 0\nnodes:\n  - {name: a, http: nowhere, zmq: \"ipc://x\", data: /tmp/a}\n  - {name: a, http: \"h:1\", zmq: \"tcp://h:2\", data: /tmp/b}\n"
            .write(toFile: cluster.dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let bad = try TestSupport.run(["serve", "--cluster", cluster.dir + "/bad.yaml", "--node", "a"])
        #expect(bad.status == 1)
        for problem in ["partitions must be 1…4096", "names must be unique", "zmq must be a tcp:// endpoint", "http must be HOST:PORT"] {
            #expect(bad.stderr.contains(problem), "\(bad.stderr)")
        }
        let half = try TestSupport.run(["serve", "--cluster", cluster.file])
        #expect(half.status != 0 && half.stderr.contains("--cluster and --node go together"))

        // The scripts check the file as a node does and start nothing when it is broken.
        let badStart = try TestSupport.runScript("cluster/start-local.sh", [cluster.dir + "/bad.yaml"], timeout: 60)
        #expect(badStart.status != 0 && badStart.stderr.contains("names must be unique"), "\(badStart.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/a/node.pid") && !FileManager.default.fileExists(atPath: "/tmp/b/node.pid"))
        let unknownStart = try TestSupport.runScript("cluster/start-local.sh", [cluster.file, "n2", "n9"], timeout: 60)
        #expect(unknownStart.status != 0 && unknownStart.stderr.contains("no node 'n9'"), "\(unknownStart.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cluster.dir + "/n2/node.pid"), "nothing starts when one name is wrong")
        let unknownStop = try TestSupport.runScript("cluster/stop-local.sh", [cluster.file, "n9"], timeout: 60)
        #expect(unknownStop.status != 0 && unknownStop.stderr.contains("no node 'n9'"))
    }

    @Test func theScriptsReadEveryYAMLFormANodeReads() throws {
        let dir = try TestSupport.temporaryDirectory("tf-e2e-cluster-yaml")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/block.yaml"
        try """
        # block style, keys in another order, a comment and quotes the awk of old did not expect
        insecure: true
        nodes:
          - data: '\(dir)/first node'
            name: alpha
            zmq: tcp://127.0.0.1:39001   # ZeroMQ
            http: 127.0.0.1:39101
          - name: "beta"
            http: "127.0.0.1:39102"
            zmq: "tcp://127.0.0.1:39002"
            data: \(dir)/beta
        partitions: 8
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let tsv = try TestSupport.run(["cluster", "members", "--tsv", file])
        #expect(tsv.status == 0, "\(tsv.stderr)")
        let rows = tsv.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.map { Array($0.prefix(4)) } == [
            ["alpha", "127.0.0.1:39101", "tcp://127.0.0.1:39001", "\(dir)/first node"],
            ["beta", "127.0.0.1:39102", "tcp://127.0.0.1:39002", "\(dir)/beta"],
        ])
        #expect(rows.compactMap { Int($0.last ?? "") }.reduce(0, +) == 8, "every partition has one owner: \(rows)")
        let one = try TestSupport.run(["cluster", "members", file, "beta"])
        #expect(one.status == 0 && one.stdout.contains("beta") && !one.stdout.contains("alpha") && one.stdout.contains("8 partitions over 2 nodes"),
                "\(one.stdout)")
        // Nothing runs there, so stopping says so for each member (by its data directory).
        let stop = try TestSupport.runScript("cluster/stop-local.sh", [file], timeout: 60)
        #expect(stop.status == 0 && stop.stdout.contains("alpha: not started here") && stop.stdout.contains("beta: not started here"), "\(stop.stdout)")

        // A stale pid file whose pid now belongs to another program: that program is left alone.
        let bystander = Process()
        bystander.executableURL = URL(fileURLWithPath: "/bin/sleep")
        bystander.arguments = ["30"]
        try bystander.run()
        defer { bystander.terminate() }
        try FileManager.default.createDirectory(atPath: "\(dir)/first node", withIntermediateDirectories: true)
        try "\(bystander.processIdentifier)\n".write(toFile: "\(dir)/first node/node.pid", atomically: true, encoding: .utf8)
        let stale = try TestSupport.runScript("cluster/stop-local.sh", [file, "alpha"], timeout: 60)
        #expect(stale.status == 0 && stale.stdout.contains("alpha: not running"), "\(stale.stdout) \(stale.stderr)")
        #expect(bystander.isRunning, "stop-local.sh signalled a process that is not a node")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/first node/node.pid"))
    }

    @Test func aNodeThatCannotStartIsReportedAtOnce() async throws {
        let cluster = try Cluster.make("tf-e2e-cluster-busy")
        defer {
            _ = try? cluster.script("stop-local.sh")
            try? FileManager.default.removeItem(atPath: cluster.dir)
        }
        // Another program holds n1's HTTP port.
        let port = Int(cluster.config.node("n1")!.http.split(separator: ":").last!)!
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        try #require(withLoopback(port: port) { bind(holder, $0, $1) } == 0 && listen(holder, 1) == 0)
        let started = ContinuousClock.now
        let out = try TestSupport.runScript("cluster/start-local.sh", [cluster.file, "n1"], timeout: 60)
        #expect(out.status != 0 && out.stderr.contains("n1 exited during start"), "\(out.stdout) \(out.stderr)")
        #expect(ContinuousClock.now - started < .seconds(30), "reported when the node exits, not after the 60 s wait")
        #expect(!FileManager.default.fileExists(atPath: cluster.dir + "/n1/node.pid"))
    }

    /// Connects over plain TCP, writes bytes, and closes.
    func sendRawTCP(port: Int, bytes: [UInt8]) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        try #require(withLoopback(port: port) { connect(fd, $0, $1) } == 0)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Calls `body` with the address 127.0.0.1:`port` as a `sockaddr` and its length.
    func withLoopback(port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}
