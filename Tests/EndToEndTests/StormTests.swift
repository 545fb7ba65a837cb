import Foundation
import Testing
import TicketflowTesting

/// End-to-end: `ticketflow storm` against a real node, with a profile, JSON and HTML output.
@Suite(.timeLimit(.minutes(2))) struct StormTests {
    @Test func stormDrivesARealNodeAndReports() async throws {
        let dir = try TestSupport.temporaryDirectory("tf-e2e-storm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try ServerProcess(data: dir + "/data", workflow: "workflows/b2c-support.yaml")
        defer { server.stop() }
        let out = try TestSupport.run(["storm", "--target", server.baseURL, "--rate", "40", "--duration", "3s",
                                       "--profile", "workflows/storms/steady.yaml", "--json", "--html", dir + "/report.html"], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        let created = try #require(report["ticketsCreated"] as? Int)
        // Open loop at 40/s for 3 s: about 120 tickets (Poisson), and every one of them is in the node.
        #expect(created > 60 && created < 200, "\(created)")
        #expect((report["errors"] as? [String: Any])?.isEmpty == true, "\(report["errors"] ?? "")")
        #expect(((report["latencyMillis"] as? [String: Any])?["create"] as? [String: Any])?["count"] as? Int == created)
        #expect((report["timeline"] as? [Any])?.count == 3)
        #expect(out.stderr.contains("creates/s"))
        let list = try await HTTPClient(server.baseURL).get("/api/v1/tickets?limit=500")
        #expect((list.json?["tickets"] as? [Any])?.count == created)
        let agents = try await HTTPClient(server.baseURL).get("/api/v1/agents")
        #expect((agents.json?["agents"] as? [Any])?.count == 20)
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("backlog per line"))
    }

    @Test func aBadProfileIsRefusedWithItsField() throws {
        let dir = try TestSupport.temporaryDirectory("tf-e2e-storm-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "agents: {service_time: forever}\nmix: {channel: {fax: 1}}\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let out = try TestSupport.run(["storm", "--target", "http://127.0.0.1:9", "--profile", dir + "/bad.yaml"])
        #expect(out.status == 1)
        #expect(out.stderr.contains("agents.service_time"))
        #expect(out.stderr.contains("unknown channel 'fax'"))
    }
}
