import Foundation
import HTTPTypes
import Testing
import TicketflowCluster
@testable import TicketflowServer

/// The pure parts of the cluster's HTTP layer: where requests go, the wire form of
/// forwarded requests, and how gathered views merge.
@Suite struct ClusterRoutingTests {
    @Test func requestsGoToTheirOwners() {
        typealias M = ClusterMiddleware
        #expect(M.destination(method: .get, path: "/api/v1/tickets/42", idempotencyKey: nil) == .ticket("42"))
        #expect(M.destination(method: .post, path: "/api/v1/tickets/42/comments", idempotencyKey: nil) == .ticket("42"))
        #expect(M.destination(method: .post, path: "/api/v1/tickets", idempotencyKey: "k") == .create(idempotencyKey: "k"))
        #expect(M.destination(method: .post, path: "/api/v1/tickets", idempotencyKey: nil) == .create(idempotencyKey: nil))
        #expect(M.destination(method: .get, path: "/api/v1/tickets", idempotencyKey: nil) == .gather(.tickets))
        #expect(M.destination(method: .put, path: "/api/v1/agents/ana", idempotencyKey: nil) == .agents)
        #expect(M.destination(method: .get, path: "/api/v1/agents/ana/tickets", idempotencyKey: nil) == .agents)
        #expect(M.destination(method: .get, path: "/api/v1/agents", idempotencyKey: nil) == .agents)
        #expect(M.destination(method: .get, path: "/api/v1/queues", idempotencyKey: nil) == .gather(.queues))
        #expect(M.destination(method: .get, path: "/api/v1/queues/first-line", idempotencyKey: nil) == .gather(.queue))
        #expect(M.destination(method: .put, path: "/api/v1/workflow", idempotencyKey: nil) == .everyNode)
        #expect(M.destination(method: .get, path: "/api/v1/workflow", idempotencyKey: nil) == .here)
        #expect(M.destination(method: .get, path: "/healthz", idempotencyKey: nil) == .here)
        #expect(M.destination(method: .get, path: "/api/v1/cluster", idempotencyKey: nil) == .here)
    }

    @Test func forwardedRequestsRoundTripAndGarbageIsRefused() throws {
        let request = ForwardedRequest(method: "PATCH", target: "/api/v1/tickets/7?x=1",
                                       headers: [.init(name: "content-type", value: "application/json")], body: Array("{\"status\":\"open\"}".utf8))
        var w = WireWriter()
        request.encode(to: &w)
        var r = WireReader(w.bytes)
        #expect(try ForwardedRequest(wire: &r) == request)
        let response = ForwardedResponse(status: 503, headers: [.init(name: "retry-after", value: "2")], body: [1, 2])
        var w2 = WireWriter()
        response.encode(to: &w2)
        var r2 = WireReader(w2.bytes)
        #expect(try ForwardedResponse(wire: &r2) == response)
        for junk: [UInt8] in [[], [5, 65], [1, 65, 1, 66, 200, 1], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]] {
            var j = WireReader(junk)
            #expect(throws: Envelope.Malformed.self) { try ForwardedRequest(wire: &j) }
        }
        var badStatus = WireWriter()
        badStatus.uint(42)
        var b = WireReader(badStatus.bytes)
        #expect(throws: Envelope.Malformed.self) { try ForwardedResponse(wire: &b) }
    }

    @Test func ticketPagesMergeByNumber() {
        func page(_ ids: [Int], more: Bool) -> [String: Any] {
            ["tickets": ids.map { ["id": String($0)] }, "next_after": more ? (ids.last! as Any) : NSNull()]
        }
        // Node pages of limit 3: the cluster's first page is 1, 2, 4 and there is more.
        let merged = ClusterViews.tickets([page([1, 5, 9], more: true), page([2, 4, 6], more: true), page([3], more: false)], limit: 3)
        #expect((merged["tickets"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["1", "2", "3"])
        #expect(merged["next_after"] as? Int64 == 3)
        let last = ClusterViews.tickets([page([7], more: false), page([8], more: false)], limit: 3)
        #expect((last["tickets"] as? [[String: Any]])?.count == 2)
        #expect(last["next_after"] is NSNull)
    }

    @Test func queueSummariesAddUp() {
        let merged = ClusterViews.queues([
            ["queues": [["name": "q1", "waiting": 2, "longest_wait_seconds": 30], ["name": "q2", "waiting": 0, "longest_wait_seconds": 0]]],
            ["queues": [["name": "q1", "waiting": 3, "longest_wait_seconds": 90]]],
        ])
        let q1 = (merged["queues"] as? [[String: Any]])?.first { $0["name"] as? String == "q1" }
        #expect(q1?["waiting"] as? Int == 5)
        #expect(q1?["longest_wait_seconds"] as? Int == 90)
        #expect((merged["queues"] as? [Any])?.count == 2)
    }

    @Test func numbersParsedFromPeersStayNumbers() {
        let parsed = try! JSONSerialization.jsonObject(with: Data(#"{"a":0,"b":true,"c":1,"d":2.5,"e":false}"#.utf8))
        let text = String(decoding: JSONWriter.data(parsed), as: UTF8.self)
        for part in [#""a":0"#, #""b":true"#, #""c":1"#, #""d":2.5"#, #""e":false"#] { #expect(text.contains(part), "\(text)") }
    }

    @Test func metricsOfSeveralNodesMergeIntoOneExposition() {
        let n1 = """
        # HELP ticketflow_events_total Events
        # TYPE ticketflow_events_total counter
        ticketflow_events_total 5
        # HELP ticketflow_tickets Tickets by status
        # TYPE ticketflow_tickets gauge
        ticketflow_tickets{status="open"} 2
        """
        let n3 = """
        # HELP ticketflow_events_total Events
        # TYPE ticketflow_events_total counter
        ticketflow_events_total 7
        # HELP ticketflow_tickets Tickets by status
        # TYPE ticketflow_tickets gauge
        ticketflow_tickets{status="open"} 4
        """
        let merged = PrometheusMerge.merge([("n1", n1), ("n2", nil), ("n3", n3)])
        let lines = merged.split(separator: "\n").map(String.init)
        #expect(lines.contains("ticketflow_cluster_up{node=\"n2\"} 0"))
        #expect(lines.contains("ticketflow_cluster_up{node=\"n3\"} 1"))
        #expect(lines.filter { $0 == "# TYPE ticketflow_events_total counter" }.count == 1)
        // A family's samples stay together, right after its header.
        let header = lines.firstIndex(of: "# TYPE ticketflow_events_total counter")!
        #expect(Array(lines[(header + 1)...(header + 2)]) == ["ticketflow_events_total{node=\"n1\"} 5", "ticketflow_events_total{node=\"n3\"} 7"])
        #expect(lines.contains("ticketflow_tickets{node=\"n3\",status=\"open\"} 4"))
    }
}
