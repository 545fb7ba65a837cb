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
    /// Where security-relevant acts (a workflow replaced) are logged; nil where the table is
    /// built for its shapes only.
    var access: AccessControl? = nil

    typealias Context = NodeRequestContext
    typealias Handler = @Sendable (Request, Context) async throws -> Response

    /// One route: its shape (method, path, placement) and its handler.
    struct Route: Sendable {
        let shape: RouteShape
        let handler: Handler
        init(_ method: HTTPRequest.Method, _ path: String, _ placement: Placement, _ operation: AccessOperation,
             _ handler: @escaping Handler) {
            shape = RouteShape(method, path, placement, operation)
            self.handler = handler
        }
    }

    /// Every API route, in one table.
    var all: [Route] {
        [
            Route(.post, "api/v1/tickets", .create, .createTicket, createTicket),
            Route(.get, "api/v1/tickets", .gather(.tickets), .listTickets, listTickets),
            Route(.get, "api/v1/tickets/:id", .ticket, .readTicket, readTicket),
            Route(.patch, "api/v1/tickets/:id", .ticket, .updateTicket, updateTicket),
            Route(.post, "api/v1/tickets/:id/comments", .ticket, .commentTicket, comment),
            Route(.post, "api/v1/tickets/:id/escalate", .ticket, .changeLine) { r, c in try await changeLine(r, c, up: true) },
            Route(.post, "api/v1/tickets/:id/deescalate", .ticket, .changeLine) { r, c in try await changeLine(r, c, up: false) },
            Route(.post, "api/v1/tickets/:id/assign", .ticket, .assignTicket, assign),
            Route(.post, "api/v1/tickets/:id/macros/:macro", .ticket, .applyMacro, applyMacro),
            Route(.get, "api/v1/tickets/:id/audit", .ticket, .readAudit, audit),
            Route(.get, "api/v1/tickets/:id/why", .ticket, .readAudit, why),
            Route(.get, "api/v1/macros", .here, .listMacros, listMacros),
            Route(.get, "api/v1/agents", .agents, .listAgents, listAgents),
            Route(.get, "api/v1/agents/:id", .agents, .readAgent, readAgent),
            Route(.put, "api/v1/agents/:id", .agents, .putAgent, putAgent),
            Route(.put, "api/v1/agents/:id/presence", .agents, .setPresence, setPresence),
            Route(.get, "api/v1/agents/:id/tickets", .agents, .agentTickets, agentTickets),
            Route(.get, "api/v1/queues", .gather(.queues), .listQueues, listQueues),
            Route(.get, "api/v1/queues/:name", .gather(.queue), .readQueue, readQueue),
            Route(.get, "api/v1/workflow", .here, .readWorkflow, readWorkflow),
            Route(.put, "api/v1/workflow", .everyNode, .replaceWorkflow, replaceWorkflow),
        ]
    }

    /// Every route the node serves: the API's and the node's own (health, metrics, the
    /// dashboard, the cluster views), for the cluster's forwarding and for 405 answers.
    var table: RouteTable {
        RouteTable(all.map(\.shape) + [
            RouteShape(.get, "api/v1/cluster", .here, .readCluster), RouteShape(.get, "api/v1/cluster/metrics", .here, .readCluster),
            RouteShape(.get, "healthz", .here, .health), RouteShape(.get, "readyz", .here, .health),
            RouteShape(.get, "metrics", .here, .readMetrics),
        ] + UserRoutes.shapes + BrowserRoutes.shapes)
    }

    func register(on router: Router<Context>) {
        for route in all { router.on(RouterPath(route.shape.path), method: route.shape.method, use: Self.answeringErrors(route.handler)) }
    }

    /// Wraps a handler so every error becomes a JSON error answer, never a crash or a 500 page.
    static func answeringErrors(_ body: @escaping Handler) -> Handler {
        { request, context in
            do { return try await body(request, context) } catch { return APIError.from(error).response() }
        }
    }

    // MARK: Helpers shared by the handlers

    static let agentHeader = HTTPField.Name("X-Agent")!
    static let idempotencyHeader = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    /// Who acts. An agent acts as themselves and a requester as themselves, whatever headers
    /// they send (an agent naming someone else in `X-Agent` is refused); supervisors, admins
    /// and services act as the agent `X-Agent` names (at most 200 characters), else as
    /// themselves through the API. Without an identity (forwarded by an older peer): the API.
    func cause(_ request: Request, _ context: Context) throws -> Cause {
        let named = request.headers[Self.agentHeader].flatMap { $0.isEmpty ? nil : String($0.prefix(200)) }
        guard let identity = context.identity else { return named.map { Cause(.agent, $0) } ?? .api }
        switch identity.role {
        case .agent:
            if let named, named != identity.account {
                throw APIError(.forbidden, "forbidden", "an agent acts as themselves; X-Agent names someone else")
            }
            return Cause(.agent, identity.account)
        case .requester: return Cause(.requester, identity.email)
        case .supervisor, .admin, .service: return named.map { Cause(.agent, $0) } ?? Cause(.api, identity.account)
        }
    }

    func parameter(_ context: Context, _ name: String = "id") throws -> String { try Self.parameter(context, name) }

    static func parameter(_ context: Context, _ name: String = "id") throws -> String {
        guard let v = context.parameters.get(name), !v.isEmpty else { throw APIError(.badRequest, "missing_parameter", "missing \(name)") }
        return v
    }

    /// The `limit` query parameter: 1 to `max`, `default` when absent.
    static func limit(_ request: Request, default value: Int, max: Int) throws -> Int {
        guard let text = request.uri.queryParameters["limit"] else { return value }
        guard let n = Int(text), (1...max).contains(n) else { throw APIError(.badRequest, "invalid_parameter", "limit must be 1…\(max)") }
        return n
    }

    /// The client's address for the security log: the connection's, or the forwarding peer's name.
    static func address(_ context: Context) -> String? {
        if let peer = context.forwardedBy { return "via \(peer)" }
        return context.remoteAddress?.ipAddress
    }

    /// An agent reaches only their own record: another id is refused.
    func checkSelf(_ context: Context, _ id: String) throws {
        if case .onlySelf(let me) = context.reach, me != id {
            throw APIError(.forbidden, "forbidden", "an agent may do this for themselves only")
        }
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

    /// A ticket as the caller may see it: the requester view for a requester, else the full one.
    func ticketResponse(_ ticket: Ticket, _ context: Context, status: HTTPResponse.Status = .ok) async -> Response {
        if case .ownTickets = context.reach {
            return JSONResponse.make(RequesterTicketView(ticket, assigneeName: await assigneeName(ticket),
                                                         publicFields: await node.workflow.portal.publicFields), status: status)
        }
        return JSONResponse.make(TicketView(ticket, workflow: await node.workflow), status: status)
    }

    /// The display name of a ticket's assignee, for requesters (never the agent's id).
    func assigneeName(_ ticket: Ticket) async -> String? {
        guard let id = ticket.assignee else { return nil }
        return await agents.agent(id)?.name ?? "Support"
    }

    /// What a requester may put in a new ticket or a change: only the fields the workflow marks
    /// public and the priorities it offers them (anything else is refused, not dropped).
    func checkRequesterInput(_ context: Context, fields: [String: String], priority: Priority?) async throws {
        guard case .ownTickets = context.reach else { return }
        let portal = await node.workflow.portal
        if let hidden = fields.keys.sorted().first(where: { !portal.publicFields.contains($0) }) {
            throw APIError(.unprocessableContent, "not_for_role", "a requester cannot set the field '\(hidden)'")
        }
        if let priority, !portal.priorities.contains(priority) {
            throw APIError(.unprocessableContent, "not_for_role",
                           "a requester may choose \(portal.priorities.map(\.rawValue).joined(separator: ", ")), not \(priority.rawValue)")
        }
    }

    /// For a requester, the ticket must be theirs; anyone else's answers exactly as a ticket
    /// that does not exist.
    func checkOwner(_ context: Context, _ id: String) async throws {
        guard case .ownTickets(let email) = context.reach else { return }
        guard let ticket = try await node.ticket(id), ticket.requester.email.lowercased() == email.lowercased() else {
            throw NodeError.notFound(id)
        }
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
    func run(_ command: Command, for request: Request, _ context: Context, body: some Encodable,
             status: HTTPResponse.Status = .ok) async throws -> Response {
        try await checkOwner(context, command.ticketID)
        guard let key = try idempotencyKey(request) else { return await ticketResponse(try await node.execute(command), context, status: status) }
        let (ticket, replayed) = try await node.execute(command, idempotencyKey: key, request: Self.fingerprint(request, context, body: body))
        var response = await ticketResponse(ticket, context, status: replayed ? .ok : status)
        if replayed { response.headers[Self.replayedHeader] = "true" }
        return response
    }

    /// What makes two requests the same request: method, path, the body as decoded (so key
    /// order and spacing do not matter), the acting agent and the caller's account — hashed.
    /// The account is part of it so that nobody replays someone else's request to read its
    /// answer: another caller's key is "another request" (422), never their ticket.
    static func fingerprint(_ request: Request, _ context: Context, body: some Encodable) -> String {
        let agent = request.headers[agentHeader] ?? ""
        let caller = context.identity.map { " \($0.account)" } ?? ""
        let text = "\(request.method.rawValue) \(request.uri.path) \(agent)\(caller) " + String(decoding: JSONOutput.bytes(body), as: UTF8.self)
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
