import Foundation
import HTTPTypes
import Hummingbird
import TicketflowCluster
import TicketflowCore
import TicketflowRuntime
import TicketflowNode
import TicketflowStorage

/// The HTTP API under `/api/v1`, described in docs/openapi.yaml.
struct Routes: Sendable {
    let node: DurableNode
    /// Where agents are kept: this node, or in a cluster the routing owner.
    let agents: any AgentDesk
    /// In a cluster, checks with the routing owner that an agent exists before a ticket here
    /// is assigned to it by hand (alone, the node checks itself).
    let checkAgent: (@Sendable (String) async throws -> Void)?
    let maxBody: Int
    let clock: any TicketflowRuntime.Clock

    typealias Context = BasicRequestContext

    /// Wraps a handler so every error becomes a JSON error answer, never a crash or a 500 page.
    func handler(_ body: @escaping @Sendable (Request, Context) async throws -> Response) -> @Sendable (Request, Context) async throws -> Response {
        { request, context in
            do { return try await body(request, context) } catch { return APIError.from(error).response() }
        }
    }

    func cause(_ request: Request) -> Cause {
        if let agent = request.headers[HTTPField.Name("X-Agent")!], !agent.isEmpty { return Cause(.agent, String(agent.prefix(200))) }
        return .api
    }

    func id(_ context: Context, _ name: String = "id") throws -> String {
        guard let v = context.parameters.get(name), !v.isEmpty else { throw APIError(.badRequest, "missing_parameter", "missing \(name)") }
        return v
    }

    func ticketResponse(_ ticket: Ticket, status: HTTPResponse.Status = .ok) async -> Response {
        JSON.response(Views.ticket(ticket, workflow: await node.workflow), status: status)
    }

    /// The request's `Idempotency-Key`, if it has one: 1–200 characters.
    func idempotencyKey(_ request: Request) throws -> String? {
        guard let key = request.headers[HTTPField.Name("Idempotency-Key")!] else { return nil }
        guard !key.isEmpty, key.count <= 200 else {
            throw APIError(.badRequest, "invalid_header", "Idempotency-Key must be 1 to 200 characters long")
        }
        return key
    }

    /// Runs a command on a ticket and answers with the ticket. With an `Idempotency-Key`, a
    /// retry of the same request (method, path, body and `X-Agent`) answers with the ticket as
    /// it is, marked `Idempotent-Replayed: true`, instead of running again.
    func run(_ command: Command, for request: Request, body: [String: Any]?, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let key = try idempotencyKey(request) else { return await ticketResponse(try await node.execute(command), status: status) }
        let (ticket, replayed) = try await node.execute(command, idempotencyKey: key, request: Self.fingerprint(request, body: body))
        var response = await ticketResponse(ticket, status: replayed ? .ok : status)
        if replayed { response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
        return response
    }

    /// What makes two requests the same request: method, path, the body as JSON with sorted
    /// keys (so key order and spacing do not matter) and the acting agent — hashed.
    static func fingerprint(_ request: Request, body: [String: Any]?) -> String {
        let canonical = body.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) } ?? Data()
        let agent = request.headers[HTTPField.Name("X-Agent")!] ?? ""
        let text = "\(request.method.rawValue) \(request.uri.path) \(agent) " + String(decoding: canonical, as: UTF8.self)
        return String(PartitionMap.weight(text), radix: 16)
    }

    func register(on router: Router<Context>) {
        let api = router.group("api/v1")
        api.post("tickets", use: handler(createTicket))
        api.get("tickets", use: handler(listTickets))
        api.get("tickets/:id", use: handler { _, c in
            guard let t = try await node.ticket(try id(c)) else { throw NodeError.notFound(try id(c)) }
            return await ticketResponse(t)
        })
        api.patch("tickets/:id", use: handler(updateTicket))
        api.post("tickets/:id/comments", use: handler(comment))
        api.post("tickets/:id/escalate", use: handler { r, c in try await changeLine(r, c, up: true) })
        api.post("tickets/:id/deescalate", use: handler { r, c in try await changeLine(r, c, up: false) })
        api.post("tickets/:id/assign", use: handler(assign))
        api.post("tickets/:id/macros/:macro", use: handler { r, c in
            try await run(.applyMacro(ticket: try id(c), macro: try id(c, "macro"), by: cause(r)), for: r, body: nil)
        })
        api.get("tickets/:id/audit", use: handler { _, c in
            let ticketID = try id(c)
            guard let events = try await node.events(of: ticketID) else { throw NodeError.notFound(ticketID) }
            return JSON.response(["ticket": ticketID, "entries": events.map(Views.audit)])
        })
        api.put("agents/:id", use: handler(putAgent))
        api.get("agents", use: handler { _, _ in
            var list: [[String: Any]] = []
            for a in await agents.agents() { list.append(Views.agent(a, load: await agents.load(of: a.id))) }
            return JSON.response(["agents": list])
        })
        api.get("agents/:id", use: handler { _, c in
            let agentID = try id(c)
            guard let a = await agents.agent(agentID) else { throw APIError(.notFound, "unknown_agent", "no agent with id '\(agentID)'") }
            return JSON.response(Views.agent(a, load: await agents.load(of: agentID)))
        })
        api.put("agents/:id/presence", use: handler { r, c in
            let body = try await JSON.object(r, limit: maxBody)
            try JSON.rejectUnknown(body, allowed: ["presence"], context: "a presence change")
            let text = try JSON.string(body, "presence", required: true)!
            guard let presence = Presence(rawValue: text) else {
                throw APIError(.badRequest, "invalid_field", "presence must be one of online, away, offline")
            }
            let agentID = try id(c)
            do {
                let agent = try await agents.setPresence(agentID, presence)
                return JSON.response(Views.agent(agent, load: await agents.load(of: agentID)))
            } catch NodeError.rejected(let r) where r.code == "unknown_agent" {
                throw APIError(.notFound, r.code, r.message)
            }
        })
        api.get("agents/:id/tickets", use: handler { _, c in
            let agentID = try id(c)
            guard await agents.agent(agentID) != nil else { throw APIError(.notFound, "unknown_agent", "no agent with id '\(agentID)'") }
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(bytes: try await agents.openTicketsBody(of: agentID))))
        })
        api.get("queues", use: handler { _, _ in
            let wf = await node.workflow
            var queues: [[String: Any]] = []
            for name in wf.queues.keys.sorted() {
                let waiting = try await node.queueContents(name)
                queues.append(["name": name, "routing": wf.queues[name]!.routing.rawValue, "waiting": waiting.count,
                               "longest_wait_seconds": (waiting.map(\.waiting.millis).max() ?? 0) / 1000,
                               "line": (wf.lines.first { $0.queue == name }?.name).map { $0 as Any } ?? NSNull()])
            }
            return JSON.response(["queues": queues])
        })
        api.get("queues/:name", use: handler { _, c in
            let name = try id(c, "name")
            let wf = await node.workflow
            guard wf.queues[name] != nil else { throw APIError(.notFound, "unknown_queue", "no queue named '\(name)'") }
            let waiting = try await node.queueContents(name).map { entry -> [String: Any] in
                ["ticket": entry.ticket.id, "priority": entry.ticket.priority.rawValue, "subject": entry.ticket.subject,
                 "waiting_seconds": entry.waiting.millis / 1000]
            }
            return JSON.response(["name": name, "routing": wf.queues[name]!.routing.rawValue, "waiting": waiting])
        })
        api.get("workflow", use: handler { _, _ in
            let wf = await node.workflow
            return JSON.response(["name": wf.name, "version": wf.version, "label": wf.label, "source": await node.workflowText,
                                  "lines": wf.lines.map { ["name": $0.name, "queue": $0.queue] }, "statuses": wf.statuses])
        })
        api.put("workflow", use: handler { r, _ in
            var request = r
            let buffer: ByteBuffer
            do { buffer = try await request.collectBody(upTo: maxBody) } catch {
                throw APIError(.contentTooLarge, "body_too_large", "the workflow is larger than \(maxBody) bytes")
            }
            let text = String(decoding: buffer.readableBytesView, as: UTF8.self)
            let (wf, warnings) = try await node.replaceWorkflow(source: text)
            return JSON.response(["label": wf.label, "warnings": warnings.map(\.description)])
        })
    }

    // MARK: Tickets

    static let createFields: Set<String> = ["subject", "description", "priority", "channel", "requester", "tags", "fields", "type", "skills"]

    func createTicket(_ request: Request, _ context: Context) async throws -> Response {
        let body = try await JSON.object(request, limit: maxBody)
        try JSON.rejectUnknown(body, allowed: Self.createFields, context: "a new ticket")
        guard let subject = try JSON.string(body, "subject", required: true, max: 1000), !subject.isEmpty else {
            throw APIError(.badRequest, "invalid_field", "'subject' must not be empty")
        }
        guard let requesterObject = body["requester"] as? [String: Any] else {
            throw APIError(.badRequest, body["requester"] == nil ? "missing_field" : "invalid_field", "'requester' is required: {\"name\": …, \"email\": …}")
        }
        try JSON.rejectUnknown(requesterObject, allowed: ["name", "email", "organization"], context: "requester")
        let email = try JSON.string(requesterObject, "email", required: true, max: 320)!
        guard email.contains("@") else { throw APIError(.badRequest, "invalid_field", "'requester.email' is not an e-mail address") }
        let requester = Requester(name: try JSON.string(requesterObject, "name", max: 500) ?? email, email: email,
                                  organization: try JSON.string(requesterObject, "organization", max: 500))
        let priorityText = try JSON.string(body, "priority") ?? "normal"
        guard let priority = Priority(rawValue: priorityText) else {
            throw APIError(.badRequest, "invalid_field", "unknown priority '\(priorityText)'; expected one of low, normal, high, urgent")
        }
        let channelText = try JSON.string(body, "channel") ?? "api"
        guard let channel = Channel(rawValue: channelText) else {
            throw APIError(.badRequest, "invalid_field", "unknown channel '\(channelText)'; expected one of \(Channel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var fields: [String: String] = [:]
        if let f = body["fields"], !(f is NSNull) {
            guard let object = f as? [String: Any] else { throw APIError(.badRequest, "invalid_field", "'fields' must be an object of strings") }
            for (k, v) in object {
                guard let s = v as? String else { throw APIError(.badRequest, "invalid_field", "field '\(k)' must be a string") }
                fields[k] = s
            }
        }
        let draft = NewTicket(id: "", subject: subject, description: try JSON.string(body, "description", max: 100_000) ?? "",
                              requester: requester, channel: channel, priority: priority, type: try JSON.string(body, "type"),
                              tags: try JSON.strings(body, "tags"), fields: fields, requiredSkills: try JSON.strings(body, "skills"))
        let (ticket, replayed) = try await node.create(draft, idempotencyKey: try idempotencyKey(request))
        var response = await ticketResponse(ticket, status: replayed ? .ok : .created)
        response.headers[.location] = "/api/v1/tickets/\(ticket.id)"
        if replayed { response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
        return response
    }

    func listTickets(_ request: Request, _ context: Context) async throws -> Response {
        let q = request.uri.queryParameters
        let known: Set<String> = ["status", "line", "queue", "assignee", "priority", "sla", "limit", "after"]
        for key in q.map({ String($0.key) }) where !known.contains(key) {
            throw APIError(.badRequest, "unknown_parameter", "unknown query parameter '\(key)'; expected \(known.sorted().joined(separator: ", "))")
        }
        let wf = await node.workflow
        var filter = TicketFilter()
        filter.status = q.get("status").map { String($0) }
        filter.queue = q.get("queue").map { String($0) }
        filter.assignee = q.get("assignee").map { String($0) }
        if let line = q.get("line") {
            guard let index = wf.lineIndex(named: String(line)) else { throw APIError(.badRequest, "invalid_parameter", "unknown line '\(line)'") }
            filter.line = index
        }
        if let p = q.get("priority") {
            guard let priority = Priority(rawValue: String(p)) else { throw APIError(.badRequest, "invalid_parameter", "unknown priority '\(p)'") }
            filter.priority = priority
        }
        if let sla = q.get("sla") {
            guard sla == "at_risk" || sla == "breached" else { throw APIError(.badRequest, "invalid_parameter", "sla must be at_risk or breached") }
            filter.sla = String(sla)
        }
        if let limit = q.get("limit") {
            guard let n = Int(limit), (1...500).contains(n) else { throw APIError(.badRequest, "invalid_parameter", "limit must be 1…500") }
            filter.limit = n
        }
        if let after = q.get("after") {
            guard let n = Int64(after), n >= 0 else { throw APIError(.badRequest, "invalid_parameter", "after must be a ticket number") }
            filter.after = n
        }
        let rows = try await node.tickets(matching: filter)
        return JSON.response([
            "tickets": rows.map { Views.ticket($0.ticket, workflow: wf, withComments: false) },
            "next_after": rows.count == filter.limit ? (rows.last?.number as Any) : NSNull(),
        ])
    }

    func updateTicket(_ request: Request, _ context: Context) async throws -> Response {
        let body = try await JSON.object(request, limit: maxBody)
        try JSON.rejectUnknown(body, allowed: ["subject", "description", "priority", "type", "status", "fields"], context: "a ticket update")
        var changes: [String: String] = [:]
        for key in ["subject", "description", "priority", "type", "status"] {
            if let v = try JSON.string(body, key) { changes[key] = v }
        }
        if let f = body["fields"] {
            guard let object = f as? [String: Any] else { throw APIError(.badRequest, "invalid_field", "'fields' must be an object of strings") }
            for (k, v) in object {
                guard let s = v as? String else { throw APIError(.badRequest, "invalid_field", "field '\(k)' must be a string") }
                changes["fields.\(k)"] = s
            }
        }
        return try await run(.update(ticket: try id(context), changes: changes, by: cause(request)), for: request, body: body)
    }

    func comment(_ request: Request, _ context: Context) async throws -> Response {
        let body = try await JSON.object(request, limit: maxBody)
        try JSON.rejectUnknown(body, allowed: ["body", "public", "author", "author_name"], context: "a comment")
        let text = try JSON.string(body, "body", required: true, max: 100_000)!
        let authorText = try JSON.string(body, "author") ?? "agent"
        guard let author = AuthorKind(rawValue: authorText), author != .system else {
            throw APIError(.badRequest, "invalid_field", "author must be agent or requester")
        }
        let name = try JSON.string(body, "author_name", max: 500) ?? cause(request).name
        let isPublic = try JSON.bool(body, "public", default: true)
        return try await run(.comment(ticket: try id(context), author: author, authorName: name, isPublic: isPublic, body: text),
                             for: request, body: body, status: .created)
    }

    func changeLine(_ request: Request, _ context: Context, up: Bool) async throws -> Response {
        var target: String?
        var body: [String: Any]?
        if request.headers[.contentLength].map({ $0 != "0" }) ?? false || request.headers[.transferEncoding] != nil {
            let object = try await JSON.object(request, limit: maxBody)
            try JSON.rejectUnknown(object, allowed: ["to"], context: up ? "an escalation" : "a de-escalation")
            target = try JSON.string(object, "to")
            body = object
        }
        let ticketID = try id(context)
        let command: Command = up ? .escalate(ticket: ticketID, to: target, by: cause(request)) : .deescalate(ticket: ticketID, to: target, by: cause(request))
        return try await run(command, for: request, body: body)
    }

    func assign(_ request: Request, _ context: Context) async throws -> Response {
        let body = try await JSON.object(request, limit: maxBody)
        try JSON.rejectUnknown(body, allowed: ["agent"], context: "an assignment")
        let agent = try JSON.string(body, "agent")
        if let agent, let checkAgent { try await checkAgent(agent) }
        return try await run(.assign(ticket: try id(context), agent: agent, by: cause(request)), for: request, body: body)
    }

    // MARK: Agents

    func putAgent(_ request: Request, _ context: Context) async throws -> Response {
        let body = try await JSON.object(request, limit: maxBody)
        try JSON.rejectUnknown(body, allowed: ["name", "line", "skills", "capacity", "queues", "presence"], context: "an agent")
        let agentID = try id(context)
        let existing = await agents.agent(agentID)
        guard let line = try JSON.string(body, "line") ?? existing?.line else { throw APIError(.badRequest, "missing_field", "'line' is required") }
        var capacity = existing?.capacity ?? 5
        if let c = body["capacity"] {
            guard let n = c as? Int, (0...1000).contains(n), !(c is Bool) else { throw APIError(.badRequest, "invalid_field", "'capacity' must be a whole number 0…1000") }
            capacity = n
        }
        var presence = existing?.presence ?? .offline
        if let p = try JSON.string(body, "presence") {
            guard let v = Presence(rawValue: p) else { throw APIError(.badRequest, "invalid_field", "presence must be one of online, away, offline") }
            presence = v
        }
        let agent = Agent(id: agentID, name: try JSON.string(body, "name") ?? existing?.name ?? agentID, line: line,
                          queues: body["queues"] != nil ? try JSON.strings(body, "queues") : existing?.queues ?? [],
                          skills: body["skills"] != nil ? try JSON.strings(body, "skills") : existing?.skills ?? [],
                          capacity: capacity, presence: presence)
        try await agents.upsert(agent)
        return JSON.response(Views.agent(agent, load: await agents.load(of: agentID)), status: existing == nil ? .created : .ok)
    }
}
