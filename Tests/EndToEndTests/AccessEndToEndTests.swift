import Foundation
import Testing
import TicketflowTesting

/// End-to-end: how a real node treats its first start, its tokens and its data directory.
@Suite(.serialized, .timeLimit(.minutes(3))) struct AccessEndToEndTests {
    static let workflow = "workflows/b2c-support.yaml"

    @Test func aFreshDirectoryNeedsItsAdminTokenAndOneNodeHoldsIt() async throws {
        let dir = try TestSupport.temporaryDirectory("tf-e2e-access")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/data"
        // No token and no terminal to show one on: refused, nothing created.
        do {
            _ = try ServerProcess(data: data, workflow: Self.workflow, environment: ["TICKETFLOW_ADMIN_TOKEN": nil])
            Issue.record("a fresh node started with no admin token and no terminal")
        } catch let failure as ServerProcess.Failure {
            #expect(failure.description.contains("set TICKETFLOW_ADMIN_TOKEN"), "\(failure)")
        }
        // A token that is too short is refused before anything is opened.
        #expect(throws: ServerProcess.Failure.self) {
            _ = try ServerProcess(data: data, workflow: Self.workflow, environment: ["TICKETFLOW_ADMIN_TOKEN": "short"])
        }

        let token = "first-admin-token-\(UUID().uuidString)"
        var node = try ServerProcess(data: data, workflow: Self.workflow, environment: ["TICKETFLOW_ADMIN_TOKEN": token])
        var admin = HTTPClient(node.baseURL, token: token)
        #expect(try await HTTPClient(node.baseURL, token: nil).get("/healthz").status == 200)
        #expect(try await HTTPClient(node.baseURL, token: nil).get("/api/v1/tickets").status == 401)
        #expect(try await HTTPClient(node.baseURL, token: "tf_wrong").get("/api/v1/tickets").status == 401)
        #expect(try await HTTPClient(node.baseURL, token: nil).get("/metrics").status == 401)
        #expect(try await admin.get("/metrics").status == 200)
        let made = try await admin.post("/api/v1/users", ["name": "Ann", "email": "ann@example.com", "role": "agent", "line": "L1"])
        #expect(made.status == 201)
        let annToken = try #require(made.json?["token"] as? String)
        #expect(try await HTTPClient(node.baseURL, token: annToken).get("/api/v1/queues").status == 200)

        // A second process on the same directory stops at once and says who holds it.
        do {
            _ = try ServerProcess(data: data, workflow: Self.workflow, environment: ["TICKETFLOW_ADMIN_TOKEN": token])
            Issue.record("a second node started on the same data directory")
        } catch let failure as ServerProcess.Failure {
            #expect(failure.description.contains("another ticketflow process (pid \(node.pid))"), "\(failure)")
        }

        // After a crash the lock is gone with the process; without the environment the
        // accounts made before still sign in, and no token was ever printed.
        let printed = node.log
        node.kill()
        node = try ServerProcess(data: data, workflow: Self.workflow, environment: ["TICKETFLOW_ADMIN_TOKEN": nil])
        admin = HTTPClient(node.baseURL, token: token)
        #expect(try await admin.get("/api/v1/users").status == 200)
        #expect(try await HTTPClient(node.baseURL, token: annToken).get("/api/v1/queues").status == 200)
        for output in [printed, node.log] { #expect(!output.contains(token) && !output.contains(annToken)) }
        // Nothing but hashes on disk: neither token is in the SQLite files.
        for file in try FileManager.default.contentsOfDirectory(atPath: data) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: data + "/" + file))
            #expect(bytes.range(of: Data(token.utf8)) == nil && bytes.range(of: Data(annToken.utf8)) == nil, "\(file)")
        }
        let log = try #require(try await admin.get("/api/v1/security-log").json?["entries"] as? [[String: Any]])
        #expect(log.compactMap { $0["action"] as? String } == ["user_created", "admin_created"])
        #expect(log.first?["actor"] as? String == "admin" && log.first?["address"] as? String == "127.0.0.1")
        node.stop()
    }
}
