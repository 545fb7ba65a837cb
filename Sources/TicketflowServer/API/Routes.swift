import Foundation
import HTTPTypes
import Hummingbird
import TicketflowAPI
import TicketflowCore
import TicketflowNode
import TicketflowRuntime

/// The HTTP API under `/api/v1`, described in docs/openapi.yaml. Each route is declared once,
/// in `all`, with its placement in a cluster; the handlers live in `Routes+Tickets.swift`,
/// `Routes+Agents.swift`, `Routes+Queues.swift` and `Routes+Workflow.swift`.
struct Routes: Sendable {
    let node: DurableNode
    /// Where agents are kept: this node, or in a cluster the routing owner.
    let agents: any AgentDesk
    /// In a cluster, checks with the routing owner that an agent exists before a ticket here
    /// is assigned to it by hand (alone, the node checks itself).
    let checkAgent: (@Sendable (String) async throws -> Void)?
    let maxBody: Int

    typealias Context = NodeRequestContext
    typealias Handler = @Sendable (Request, Context) async throws -> Response

    /// One route: its shape (method, path, placement) and its handler.
    struct Route: Sendable {
        let shape: RouteShape
        let handler: Handler
        init(_ method: HTTPRequest.Method, _ path: String, _ placement: Placement, _ handler: @escaping Handler) {
            shape = RouteShape(method, path, placement)
            self.handler = handler
        }
    }

    /// Every API route, in one table.
    var all: [Route] {
        [
            Route(.post, "api/v1/tickets", .create, createTicket),
            Route(.get, "api/v1/tickets", .gather(.tickets), listTickets),
            Route(.get, "api/v1/tickets/:id", .ticket, readTicket),
            Route(.patch, "api/v1/tickets/:id", .ticket, updateTicket),
            Route(.post, "api/v1/tickets/:id/comments", .ticket, comment),
            Route(.post, "api/v1/tickets/:id/escalate", .ticket) { r, c in try await changeLine(r, c, up: true) },
            Route(.post, "api/v1/tickets/:id/deescalate", .ticket) { r, c in try await changeLine(r, c, up: false) },
            Route(.post, "api/v1/tickets/:id/assign", .ticket, assign),
            Route(.post, "api/v1/tickets/:id/macros/:macro", .ticket, applyMacro),
            Route(.get, "api/v1/tickets/:id/audit", .ticket, audit),
            Route(.get, "api/v1/agents", .agents, listAgents),
            Route(.get, "api/v1/agents/:id", .agents, readAgent),
            Route(.put, "api/v1/agents/:id", .agents, putAgent),
            Route(.put, "api/v1/agents/:id/presence", .agents, setPresence),
            Route(.get, "api/v1/agents/:id/tickets", .agents, agentTickets),
            Route(.get, "api/v1/queues", .gather(.queues), listQueues),
            Route(.get, "api/v1/queues/:name", .gather(.queue), readQueue),
            Route(.get, "api/v1/workflow", .here, readWorkflow),
            Route(.put, "api/v1/workflow", .everyNode, replaceWorkflow),
        ]
    }

    /// Every route the node serves: the API's and the node's own (health, metrics, the
    /// dashboard, the cluster views), for the cluster's forwarding and for 405 answers.
    var table: RouteTable {
        RouteTable(all.map(\.shape) + [
            RouteShape(.get, "api/v1/cluster", .here), RouteShape(.get, "api/v1/cluster/metrics", .here),
            RouteShape(.get, "healthz", .here), RouteShape(.get, "metrics", .here), RouteShape(.get, "/", .here),
        ])
    }

    func register(on router: Router<Context>) {
        for route in all { router.on(RouterPath(route.shape.path), method: route.shape.method, use: handler(route.handler)) }
    }

    /// Wraps a handler so every error becomes a JSON error answer, never a crash or a 500 page.
    func handler(_ body: @escaping Handler) -> Handler {
        { request, context in
            do { return try await body(request, context) } catch { return APIError.from(error).response() }
        }
    }

    // MARK: Helpers shared by the handlers

    static let agentHeader = HTTPField.Name("X-Agent")!
    static let idempotencyHeader = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    /// Who acts: the agent named by `X-Agent` (at most 200 characters), else the API.
    func cause(_ request: Request) -> Cause {
        if let agent = request.headers[Self.agentHeader], !agent.isEmpty { return Cause(.agent, String(agent.prefix(200))) }
        return .api
    }

    func parameter(_ context: Context, _ name: String = "id") throws -> String {
        guard let v = context.parameters.get(name), !v.isEmpty else { throw APIError(.badRequest, "missing_parameter", "missing \(name)") }
        return v
    }

    /// Checks the query's parameters: each known, each at most once.
    func checkQuery(_ request: Request, allowed: Set<String>) throws {
        let q = request.uri.queryParameters
        var seen: Set<String> = []
        for key in q.map({ String($0.key) }) {
            guard allowed.contains(key) else {
                throw APIError(.badRequest, "unknown_parameter", "unknown query parameter '\(key)'; expected \(allowed.sorted().joined(separator: ", "))")
            }
            guard seen.insert(key).inserted else { throw APIError(.badRequest, "invalid_parameter", "'\(key)' is given more than once") }
        }
    }

    func ticketResponse(_ ticket: Ticket, status: HTTPResponse.Status = .ok) async -> Response {
        JSONResponse.make(TicketView(ticket, workflow: await node.workflow), status: status)
    }

    /// The request's `Idempotency-Key`, if it has one: 1–200 characters.
    func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers[Self.idempotencyHeader] else { return nil }
        guard !key.isEmpty, key.count <= 200 else {
            throw APIError(.badRequest, "invalid_header", "Idempotency-Key must be 1 to 200 characters long")
        }
        return key
    }

    /// Runs a command on a ticket and answers with the ticket. With an `Idempotency-Key`, a
    /// retry of the same request (method, path, body and `X-Agent`) answers with the ticket as
    /// it is, marked `Idempotent-Replayed: true`, instead of running again.
    func run(_ command: Command, for request: Request, body: some Encodable, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let key = try idempotencyKey(request) else { return await ticketResponse(try await node.execute(command), status: status) }
        let (ticket, replayed) = try await node.execute(command, idempotencyKey: key, request: Self.fingerprint(request, body: body))
        var response = await ticketResponse(ticket, status: replayed ? .ok : status)
        if replayed { response.headers[Self.replayedHeader] = "true" }
        return response
    }

    /// What makes two requests the same request: method, path, the body as decoded (so key
    /// order and spacing do not matter) and the acting agent — hashed.
    static func fingerprint(_ request: Request, body: some Encodable) -> String {
        let agent = request.headers[agentHeader] ?? ""
        let text = "\(request.method.rawValue) \(request.uri.path) \(agent) " + String(decoding: JSONOutput.bytes(body), as: UTF8.self)
        return String(StableHash.mixed(text), radix: 16)
    }
}

extension RouteTable {
    /// Every route a node serves, as the router and the cluster see them.
    public static func node(_ node: DurableNode) -> RouteTable {
        Routes(node: node, agents: LocalAgents(node: node), checkAgent: nil, maxBody: 1 << 20).table
    }
}

/// A body that is not there (a macro, a bare escalation): fingerprinted as nothing.
struct NoBody: Encodable {
    func encode(to encoder: any Encoder) throws {}
}
