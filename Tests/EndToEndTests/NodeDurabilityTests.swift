import Foundation
import Testing
import TicketflowTesting

/// End-to-end: a real node on a real port, killed with SIGKILL, restarted on the same data.
@Suite(.serialized, .timeLimit(.minutes(3))) struct NodeDurabilityTests {
    /// A workflow whose first-reply SLA (3 s) falls due while the node is down.
    static let quickSLA = """
    workflow: quick
    version: 1
    statuses: [new, open, solved, closed]
    lines: [{name: L1, queue: q1}, {name: L2, queue: q2}]
    templates: {late: "late {{ticket.id}}"}
    sla:
      - name: fast
        calendar: 24x7
        targets: {first_reply: 3s}
        on_breach: [{escalate: next_line}, {notify: {to: boss@example.com, template: late}}]
    """

    /// A temporary directory with `quickSLA` in it as quick.yaml; the caller removes it.
    static func directoryWithQuickWorkflow(_ prefix: String) throws -> (dir: String, workflow: String) {
        let dir = try TestSupport.temporaryDirectory(prefix)
        try quickSLA.write(toFile: dir + "/quick.yaml", atomically: true, encoding: .utf8)
        return (dir, dir + "/quick.yaml")
    }

    func newTicket(_ n: Int) -> [String: Any] {
        ["subject": "Ticket \(n)", "description": "created by the durability test", "priority": "high", "channel": "email",
         "requester": ["name": "Req \(n)", "email": "req\(n)@example.com", "organization": "acme"], "tags": [], "fields": [:]]
    }

    /// Issue 15 on a real node's data: killed with SIGKILL after creates, a comment and an SLA
    /// breach, its data directory replays clean (every snapshot equals its journal), `why`
    /// explains the breach, and a snapshot that disagrees with its journal fails the replay.
    @Test func aKilledNodesDataReplaysCleanAndExplainsItself() async throws {
        let (dir, workflow) = try Self.directoryWithQuickWorkflow("tf-e2e-replay")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(data: dir + "/data", workflow: workflow)
        let client = HTTPClient(server.baseURL)
        var ids: [String] = []
        for n in 1...5 {
            let reply = try await client.post("/api/v1/tickets", newTicket(n))
            ids.append(try #require(reply.json?["id"] as? String))
        }
        _ = try await client.post("/api/v1/tickets/\(ids[0])/comments", ["body": "On it", "public": true], headers: ["X-Agent": "bob"])
        // Let the 3 s first-reply clock of the others breach while the node runs, then kill it.
        var breached = false
        for _ in 0..<100 where !breached {
            try await Task.sleep(for: .milliseconds(100))
            breached = String(decoding: (try await client.get("/api/v1/tickets/\(ids[4])/audit")).body, as: UTF8.self).contains("breached")
        }
        #expect(breached)
        server.kill()

        let replay = try TestSupport.run(["replay", "--data", dir + "/data"])
        #expect(replay.status == 0, "\(replay.stdout)\(replay.stderr)")
        #expect(replay.stdout.contains("replayed 5 tickets") && replay.stdout.contains("every snapshot matches its journal"))
        let why = try TestSupport.run(["why", "--data", dir + "/data", "--ticket", ids[4]])
        #expect(why.status == 0)
        #expect(why.stdout.contains("SLA fast/first_reply breached") && why.stdout.contains("raised: sla.breach"))
        let oneRule = try TestSupport.run(["why", "--data", dir + "/data", "--ticket", ids[4], "--rule", "fast", "--json"])
        #expect(oneRule.stdout.hasPrefix("{\"ticket\":\"\(ids[4])\",\"steps\":[") && oneRule.stdout.contains("\"kind\":\"sla_policy\""))

        // A snapshot that no longer tells its journal's story: found, named, exit 1.
        let sqlite = try TestSupport.run(program: "/usr/bin/env", ["python3", "-c", """
            import sqlite3; db = sqlite3.connect('\(dir)/data/ticketflow.sqlite')
            db.execute("UPDATE ticket SET body = (SELECT body FROM ticket WHERE id = '\(ids[1])') WHERE id = '\(ids[2])'"); db.commit()
            """], in: dir, timeout: 30)
        #expect(sqlite.status == 0, "\(sqlite.stderr)")
        let damaged = try TestSupport.run(["replay", "--data", dir + "/data"])
        #expect(damaged.status == 1)
        #expect(damaged.stdout.contains("ticket \(ids[2]): the journal rebuilds another ticket than the snapshot"))
        #expect(damaged.stdout.contains("1 difference"))
    }

    @Test func acknowledgedTicketsSurviveSIGKILLAndRetriesNeverDuplicate() async throws {
        let (dir, workflow) = try Self.directoryWithQuickWorkflow("tf-e2e-kill")
        defer { try? FileManager.default.removeItem(atPath: dir) }

        var server = try ServerProcess(data: dir + "/data", workflow: workflow)
        var client = HTTPClient(server.baseURL)
        var acknowledged: [String: String] = [:]   // idempotency key → id
        for n in 1...40 {
            let reply = try await client.post("/api/v1/tickets", newTicket(n), headers: ["Idempotency-Key": "key-\(n)"])
            #expect(reply.status == 201)
            acknowledged["key-\(n)"] = reply.json?["id"] as? String
        }
        let comment = try await client.post("/api/v1/tickets/\(acknowledged["key-1"]!)/comments",
                                            ["body": "private note", "public": false, "author": "agent", "author_name": "bob"])
        #expect(comment.status == 201)
        server.kill()
        // The last ticket's SLA is due 3 s after its create; on a loaded machine the first
        // ones may already have breached before the kill, the last one has not.
        let lastID = acknowledged["key-40"]!

        // Let the 3 s SLA fall due while the node is down, then restart on the same data.
        try await Task.sleep(for: .seconds(4))
        server = try ServerProcess(data: dir + "/data", workflow: workflow)
        client = HTTPClient(server.baseURL)
        for (key, id) in acknowledged.sorted(by: { $0.key < $1.key }) {
            let reply = try await client.get("/api/v1/tickets/\(id)")
            #expect(reply.status == 200, "ticket \(id) lost")
            // Retrying the create with the same key returns the same ticket, never a new one;
            // another create under that key is refused.
            let n = Int(key.dropFirst("key-".count))!
            let retry = try await client.post("/api/v1/tickets", newTicket(n), headers: ["Idempotency-Key": key])
            #expect(retry.status == 200)
            #expect(retry.json?["id"] as? String == id)
            let reused = try await client.post("/api/v1/tickets", newTicket(n + 100), headers: ["Idempotency-Key": key])
            #expect(reused.status == 422)
        }
        let first = try #require(try await client.get("/api/v1/tickets/\(acknowledged["key-1"]!)").json)
        #expect((first["comments"] as? [[String: Any]])?.first?["body"] as? String == "private note")
        // The SLA breach that fell due during the downtime fired once, late, and escalated once.
        #expect(first["line"] as? String == "L2")
        let last = try #require(try await client.get("/api/v1/tickets/\(lastID)").json)
        #expect(last["line"] as? String == "L2")
        let audit = try #require(try await client.get("/api/v1/tickets/\(lastID)/audit").json?["entries"] as? [[String: Any]])
        let changes = audit.compactMap { $0["change"] as? String }
        #expect(changes.filter { $0.hasPrefix("timer sla/fast/first_reply/breach fired late by") }.count == 1)
        #expect(changes.filter { $0 == "SLA fast/first_reply breached" }.count == 1)
        // No duplicates: the list has exactly the acknowledged tickets.
        let list = try #require(try await client.get("/api/v1/tickets?limit=500").json?["tickets"] as? [[String: Any]])
        #expect(Set(list.compactMap { $0["id"] as? String }) == Set(acknowledged.values))

        // A second restart fires nothing again.
        server.kill()
        server = try ServerProcess(data: dir + "/data", workflow: workflow)
        client = HTTPClient(server.baseURL)
        let again = try #require(try await client.get("/api/v1/tickets/\(lastID)/audit").json?["entries"] as? [[String: Any]])
        #expect(again.compactMap { $0["change"] as? String }.filter { $0 == "SLA fast/first_reply breached" }.count == 1)
        #expect(server.stop() == 0)
    }

    /// A client whose answer was lost (the node killed after the commit) retries with its
    /// key: the comment and the escalation happen once, and the same key with another
    /// request is refused.
    @Test func keyedCommandsRunOnceAcrossSIGKILLAndRetries() async throws {
        let dir = try TestSupport.temporaryDirectory("tf-e2e-keys")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var server = try ServerProcess(data: dir + "/data", workflow: "workflows/b2c-support.yaml")
        var client = HTTPClient(server.baseURL)
        let created = try await client.post("/api/v1/tickets", ["subject": "s", "requester": ["name": "A", "email": "a@example.com"]])
        let id = try #require(created.json?["id"] as? String)
        let comment: [String: Any] = ["body": "We are on it", "public": true]
        let first = try await client.post("/api/v1/tickets/\(id)/comments", comment, headers: ["Idempotency-Key": "c-1", "X-Agent": "bob"])
        #expect(first.status == 201 && first.headers["idempotent-replayed"] == nil, "\(first.text)")
        let escalated = try await client.request("POST", "/api/v1/tickets/\(id)/escalate", headers: ["Idempotency-Key": "e-1"])
        #expect(escalated.json?["line"] as? String == "L2", "\(escalated.text)")
        server.kill()

        server = try ServerProcess(data: dir + "/data", workflow: "workflows/b2c-support.yaml")
        defer { server.stop() }
        client = HTTPClient(server.baseURL)
        // The same body with its keys in another order and other spacing is the same request.
        let retry = try await client.request("POST", "/api/v1/tickets/\(id)/comments", raw: Data(#"{ "public": true, "body": "We are on it" }"#.utf8),
                                             headers: ["Idempotency-Key": "c-1", "X-Agent": "bob", "Content-Type": "application/json"])
        #expect(retry.status == 200 && retry.headers["idempotent-replayed"] == "true", "\(retry.status) \(retry.text)")
        let again = try await client.request("POST", "/api/v1/tickets/\(id)/escalate", headers: ["Idempotency-Key": "e-1"])
        #expect(again.status == 200 && again.headers["idempotent-replayed"] == "true" && again.json?["line"] as? String == "L2",
                "an escalation retried after the crash does not climb to L3: \(again.text)")
        let reused = try await client.post("/api/v1/tickets/\(id)/comments", ["body": "Something else"], headers: ["Idempotency-Key": "c-1", "X-Agent": "bob"])
        #expect(reused.status == 422 && (reused.json?["error"] as? [String: Any])?["code"] as? String == "idempotency_key_reused", "\(reused.text)")
        let tooLong = try await client.post("/api/v1/tickets/\(id)/comments", comment, headers: ["Idempotency-Key": String(repeating: "k", count: 201)])
        #expect(tooLong.status == 400)
        let ticket = try #require(try await client.get("/api/v1/tickets/\(id)").json)
        #expect((ticket["comments"] as? [[String: Any]])?.filter { $0["body"] as? String == "We are on it" }.count == 1)
        #expect((ticket["comments"] as? [[String: Any]])?.contains { $0["body"] as? String == "Something else" } == false)
        #expect(ticket["line"] as? String == "L2")
    }

    @Test func aBrokenWorkflowIsRejectedAndTheOldOneStillDecides() async throws {
        let dir = try TestSupport.temporaryDirectory("tf-e2e-wf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(data: dir + "/data", workflow: "workflows/b2c-support.yaml")
        defer { server.stop() }
        let client = HTTPClient(server.baseURL)
        let broken = Data("workflow: broken\nlines: [{name: L1, queue: q}]\nstatuses: [new, open]\ntriggers:\n  - {name: t, on: ticket.created, if: {status: clsed}, then: []}\n".utf8)
        let reply = try await client.request("PUT", "/api/v1/workflow", raw: broken)
        #expect(reply.status == 422)
        let error = try #require(reply.json?["error"] as? [String: Any])
        #expect(error["code"] as? String == "invalid_workflow")
        #expect((error["details"] as? [String])?.first?.contains("workflow.yaml:5:") == true)
        #expect(try await client.get("/api/v1/workflow").json?["label"] as? String == "b2c-support@1")
        // The old workflow still decides: urgent phone tickets go to L2.
        let created = try await client.post("/api/v1/tickets", ["subject": "down", "priority": "urgent", "channel": "phone",
                                                                 "requester": ["name": "A", "email": "a@example.com"]])
        #expect(created.json?["line"] as? String == "L2")
        #expect(created.json?["workflow_version"] as? String == "b2c-support@1")
    }

    @Test func badRequestsGetClearFourHundredsAndChangeNothing() async throws {
        let dir = try TestSupport.temporaryDirectory("tf-e2e-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(data: dir + "/data", workflow: "workflows/b2c-support.yaml", extra: ["--durability", "normal"])
        defer { server.stop() }
        let client = HTTPClient(server.baseURL)
        let ok = try await client.post("/api/v1/tickets", ["subject": "s", "requester": ["name": "A", "email": "a@example.com"]])
        let id = try #require(ok.json?["id"] as? String)
        let cases: [(String, String, Data?, Int, String)] = [
            ("POST", "/api/v1/tickets", Data("{not json".utf8), 400, "malformed_json"),
            ("POST", "/api/v1/tickets", Data(#"{"subject":"s","requester":{"email":"a@b"},"colour":"red"}"#.utf8), 400, "unknown_field"),
            ("POST", "/api/v1/tickets", Data(#"{"subject":"s","requester":{"email":"a@b"},"priority":"asap"}"#.utf8), 400, "invalid_field"),
            ("POST", "/api/v1/tickets", Data(String(repeating: "x", count: 2 << 20).utf8), 413, "body_too_large"),
            ("PATCH", "/api/v1/tickets/\(id)", Data(#"{"status":"closed"}"#.utf8), 409, "transition_not_allowed"),
            ("PATCH", "/api/v1/tickets/\(id)", Data(#"{"status":"open","priority":"bogus"}"#.utf8), 422, "invalid_field"),
            ("GET", "/api/v1/tickets/424242", nil, 404, "unknown_ticket"),
            ("GET", "/api/v1/tickets?colour=red", nil, 400, "unknown_parameter"),
            ("GET", "/api/v1/cluster", nil, 404, "not_clustered"),
            ("GET", "/api/v1/nothing", nil, 404, "unknown_route"),
            // A path the API has, with a method it does not answer: 405 and Allow.
            ("DELETE", "/api/v1/tickets/\(id)", nil, 405, "method_not_allowed"),
        ]
        for (method, path, body, status, code) in cases {
            let reply = try await client.request(method, path, raw: body)
            #expect(reply.status == status, "\(method) \(path): \(reply.text)")
            #expect((reply.json?["error"] as? [String: Any])?["code"] as? String == code, "\(method) \(path): \(reply.text)")
        }
        // The rejected PATCH with a good status and a bad priority changed nothing.
        let after = try #require(try await client.get("/api/v1/tickets/\(id)").json)
        #expect(after["status"] as? String == "new")
        let audit = try #require(try await client.get("/api/v1/tickets/\(id)/audit").json?["entries"] as? [[String: Any]])
        #expect(!audit.contains { ($0["change"] as? String)?.hasPrefix("status:") == true })
        #expect(try await client.get("/healthz").status == 200)
    }

    @Test func onlineBackupOfARunningNodeServesTheSameTickets() async throws {
        let dir = try TestSupport.temporaryDirectory("tf-e2e-backup")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(data: dir + "/data", workflow: "workflows/b2c-support.yaml")
        let client = HTTPClient(server.baseURL)
        var ids: [String] = []
        for n in 1...5 {
            let reply = try await client.post("/api/v1/tickets", newTicket(n))
            ids.append(try #require(reply.json?["id"] as? String))
        }
        try FileManager.default.createDirectory(atPath: dir + "/restored", withIntermediateDirectories: true)
        let backup = try TestSupport.run(["backup", "--data", dir + "/data", dir + "/restored/ticketflow.sqlite"])
        #expect(backup.status == 0, "\(backup.stderr)")
        server.stop()
        let restored = try ServerProcess(data: dir + "/restored", workflow: "workflows/b2c-support.yaml")
        defer { restored.stop() }
        let copy = HTTPClient(restored.baseURL)
        for id in ids {
            #expect(try await copy.get("/api/v1/tickets/\(id)").json?["subject"] as? String != nil)
        }
    }
}
