import Foundation
import Testing
import TicketflowAPI
import TicketflowCore
import TicketflowServer
import TicketflowTesting

/// docs/openapi.yaml against the code: the routes it lists are the routes the router has, and
/// the values the API types encode are what it describes. (Every answer of the in-process
/// route tests is also checked against it, in `InProcessApp.Client`.)
@Suite struct OpenAPIConformanceTests {
    let doc = OpenAPIDocument.shared

    @Test func theDocumentListsExactlyTheRoutesTheRouterHas() async throws {
        let (node, dir) = try await TestNodes.open()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The browser's pages and forms (dashboard, sign-in, portal, assets) are HTML for
        // people, not part of the API.
        let routed = Set(RouteTable.node(node).shapes.filter { !$0.operation.isBrowser }.map { shape in
            "\(shape.method.rawValue) " + (shape.path == "/" ? "/" : "/" + shape.path.split(separator: "/").map {
                $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0)
            }.joined(separator: "/"))
        })
        #expect(doc.operations == routed)
    }

    func check(_ value: some Encodable, _ method: String, _ path: String, request: Bool = false, status: Int = 200) throws {
        let json = try JSONDecoder().decode(JSONValue.self, from: JSONOutput.data(value))
        let schema = try #require(request ? doc.requestSchema(method: method, path: path) : doc.responseSchema(method: method, path: path, status: status),
                                  "\(method) \(path) has no schema")
        #expect(doc.problems(json, schema).isEmpty, "\(method) \(path): \(doc.problems(json, schema))")
    }

    @Test func requestValuesAreWhatTheDocumentDescribes() throws {
        try check(NewTicketRequest(subject: "s", description: "d", priority: .high, channel: .web,
                                   requester: RequesterInput(name: "Ann", email: "a@b.c", organization: "acme"), tags: ["x"],
                                   fields: ["k": "v"], type: "incident", skills: ["hw"]), "POST", "/api/v1/tickets", request: true)
        try check(TicketUpdateRequest(subject: "s", priority: "low", status: "open", fields: ["k": "v"]), "PATCH", "/api/v1/tickets/{id}", request: true)
        try check(CommentRequest(body: "b", isPublic: false, author: .requester, authorName: "Ann"), "POST", "/api/v1/tickets/{id}/comments", request: true)
        try check(AssignRequest(agent: nil), "POST", "/api/v1/tickets/{id}/assign", request: true)
        try check(AgentRequest(name: "Bob", line: "L1", skills: [], capacity: 0, queues: [], presence: .online), "PUT", "/api/v1/agents/{id}", request: true)
        try check(PresenceRequest(presence: .away), "PUT", "/api/v1/agents/{id}/presence", request: true)
    }

    @Test func clusterAnswersAreWhatTheDocumentDescribes() throws {
        let member = MemberView(name: "n1", http: "127.0.0.1:8081", zmq: "tcp://127.0.0.1:9081", alive: true, lastHeardMsAgo: nil, partitions: 22,
                                load: NodeLoad(activeTickets: 1, pendingTimers: 2, agents: 0, healthy: true))
        try check(ClusterView(node: "n1", partitions: 64, routingOwner: "n2", members: [member], partitionMap: ["n1"],
                              forwardedRequests: 0, servedForPeers: 0, malformedFrames: 0), "GET", "/api/v1/cluster")
        try check(QueueList(queues: [], unavailableNodes: ["n3"]), "GET", "/api/v1/queues")
        try check(AgentTickets(agent: "bob", tickets: [], unavailableNodes: []), "GET", "/api/v1/agents/{id}/tickets")
        try check(ErrorBody(code: "owner_unavailable", message: "m"), "GET", "/api/v1/tickets/{id}", status: 503)
    }
}
