import Foundation
import HTTPTypes
import Testing
import TicketflowAPI
import TicketflowCluster
import TicketflowNode
import TicketflowServer
import TicketflowTesting
@testable import TicketflowClusterHTTP

/// The pure parts of the cluster's HTTP layer: where requests go, the wire form of
/// forwarded requests, and how gathered views merge.
@Suite struct ClusterRoutingTests {
    @Test func requestsGoToTheirOwners() async throws {
        let (node, dir) = try await TestNodes.open()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let table = RouteTable.node(node)
        func placement(_ method: HTTPRequest.Method, _ path: String) -> Placement? { table.route(method, path)?.shape.placement }
        #expect(placement(.get, "/api/v1/tickets/42") == .ticket)
        #expect(table.route(.get, "/api/v1/tickets/42")?.parameters == ["42"])
        #expect(placement(.post, "/api/v1/tickets/42/comments") == .ticket)
        #expect(placement(.post, "/api/v1/tickets/42/macros/ask") == .ticket)
        #expect(placement(.post, "/api/v1/tickets") == .create)
        #expect(placement(.get, "/api/v1/tickets") == .gather(.tickets))
        #expect(placement(.put, "/api/v1/agents/ana") == .agents)
        #expect(placement(.get, "/api/v1/agents/ana/tickets") == .agents)
        #expect(placement(.get, "/api/v1/agents") == .agents)
        #expect(placement(.get, "/api/v1/queues") == .gather(.queues))
        #expect(placement(.get, "/api/v1/queues/first-line") == .gather(.queue))
        #expect(placement(.put, "/api/v1/workflow") == .everyNode)
        #expect(placement(.get, "/api/v1/workflow") == .here)
        #expect(placement(.get, "/healthz") == .here)
        #expect(placement(.get, "/api/v1/cluster") == .here)
        #expect(placement(.delete, "/api/v1/tickets/42") == nil)
        #expect(table.methods(for: "/api/v1/tickets/42") == [.get, .patch])
        #expect(table.methods(for: "/api/v1/nowhere").isEmpty)
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

    static func view(_ id: Int) -> TicketView {
        TicketView(id: String(id), subject: "s", description: "", status: "new", priority: .normal, channel: .api, type: nil, tags: [],
                   fields: [:], requiredSkills: [], requester: RequesterView(name: "n", email: "e@x", organization: nil), line: "L1",
                   queue: "q", assignee: nil, createdAt: "", updatedAt: "", workflowVersion: "w@1", sla: [], comments: nil)
    }

    @Test func ticketPagesMergeByNumber() {
        func page(_ ids: [Int], more: Bool) -> TicketPage { TicketPage(tickets: ids.map(Self.view), nextAfter: more ? Int64(ids.last!) : nil) }
        // Node pages of limit 3: the cluster's first page is 1, 2, 3 and there is more.
        let merged = ClusterViews.tickets([page([1, 5, 9], more: true), page([2, 4, 6], more: true), page([3], more: false)], limit: 3, missing: [])
        #expect(merged.tickets.map(\.id) == ["1", "2", "3"])
        #expect(merged.nextAfter == 3)
        let last = ClusterViews.tickets([page([7], more: false), page([8], more: false)], limit: 3, missing: ["n3"])
        #expect(last.tickets.count == 2)
        #expect(last.nextAfter == nil && last.unavailableNodes == ["n3"])
    }

    @Test func queueSummariesAddUp() {
        let merged = ClusterViews.queues([
            QueueList(queues: [QueueSummary(name: "q1", line: "L1", routing: "round_robin", waiting: 2, longestWaitSeconds: 30),
                               QueueSummary(name: "q2", line: nil, routing: "round_robin", waiting: 0, longestWaitSeconds: 0)]),
            QueueList(queues: [QueueSummary(name: "q1", line: "L1", routing: "round_robin", waiting: 3, longestWaitSeconds: 90)]),
        ], missing: [])
        let q1 = merged.queues.first { $0.name == "q1" }
        #expect(q1?.waiting == 5)
        #expect(q1?.longestWaitSeconds == 90)
        #expect(merged.queues.count == 2)
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
