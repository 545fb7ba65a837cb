import Hummingbird
import TicketflowAPI
import TicketflowCore
import TicketflowNode
import TicketflowStorage

/// Tickets: create, list, read, change, comment, escalate, assign, macros, audit.
extension Routes {
    func createTicket(_ request: Request, _ context: Context) async throws -> Response {
        let (body, _) = try await JSONResponse.decode(NewTicketRequest.self, request, limit: maxBody)
        var draft = body.draft
        if case .ownTickets = context.reach, let me = context.identity {
            try await checkRequesterInput(context, fields: draft.fields, priority: body.priority)
            if !draft.tags.isEmpty || !draft.requiredSkills.isEmpty || draft.type != nil {
                throw APIError(.unprocessableContent, "not_for_role", "a requester cannot set tags, skills or the type")
            }
            // A requester opens tickets for themselves only, through the web.
            draft.requester = Requester(name: me.name, email: me.email, organization: draft.requester.organization)
            draft.channel = .web
        }
        let (ticket, replayed) = try await node.create(draft, idempotencyKey: try idempotencyKey(request),
                                                       request: Self.fingerprint(request, context, body: body))
        var response = await ticketResponse(ticket, context, status: replayed ? .ok : .created)
        response.headers[.location] = "/api/v1/tickets/\(ticket.id)"
        if replayed { response.headers[Self.replayedHeader] = "true" }
        return response
    }

    func readTicket(_ request: Request, _ context: Context) async throws -> Response {
        let id = try parameter(context)
        try await checkOwner(context, id)
        guard let ticket = try await node.ticket(id) else { throw NodeError.notFound(id) }
        return await ticketResponse(ticket, context)
    }

    static let listParameters: Set<String> = ["status", "line", "queue", "assignee", "priority", "sla", "limit", "after"]

    func listTickets(_ request: Request, _ context: Context) async throws -> Response {
        try checkQuery(request, allowed: Self.listParameters)
        let q = request.uri.queryParameters
        let wf = await node.workflow
        var filter = TicketFilter()
        var requester: String?
        if case .ownTickets(let email) = context.reach { requester = email; filter.requesterEmail = email }
        filter.status = q.get("status").map { String($0) }
        filter.queue = q.get("queue").map { String($0) }
        filter.assignee = q.get("assignee").map { String($0) }
        // A line the workflow does not have holds no ticket, as a status it does not have.
        var noSuchLine = false
        if let line = q.get("line") {
            if let index = wf.lineIndex(named: String(line)) { filter.line = index } else { noSuchLine = true }
        }
        if let p = q.get("priority") {
            guard let priority = Priority(rawValue: String(p)) else { throw APIError(.badRequest, "invalid_parameter", "unknown priority '\(p)'") }
            filter.priority = priority
        }
        if let sla = q.get("sla") {
            guard let kind = TicketFilter.SLAState(rawValue: String(sla)) else {
                throw APIError(.badRequest, "invalid_parameter", "sla must be at_risk or breached")
            }
            filter.sla = kind
        }
        if let limit = q.get("limit") {
            guard let n = Int(limit), (1...500).contains(n) else { throw APIError(.badRequest, "invalid_parameter", "limit must be 1…500") }
            filter.limit = n
        }
        if let after = q.get("after") {
            guard let n = Int64(after), (0...9_007_199_254_740_991).contains(n) else {
                throw APIError(.badRequest, "invalid_parameter", "after must be a ticket number")
            }
            filter.after = n
        }
        if noSuchLine { return JSONResponse.make(TicketPage(tickets: [], nextAfter: nil)) }
        let rows = try await node.tickets(matching: filter)
        if requester != nil {
            var views: [RequesterTicketView] = []
            let publicFields = wf.portal.publicFields
            for row in rows {
                views.append(RequesterTicketView(row.ticket, assigneeName: await assigneeName(row.ticket), publicFields: publicFields, withComments: false))
            }
            return JSONResponse.make(RequesterTicketPage(tickets: views, nextAfter: rows.count == filter.limit ? rows.last?.number : nil))
        }
        return JSONResponse.make(TicketPage(tickets: rows.map { TicketView($0.ticket, workflow: wf, withComments: false) },
                                            nextAfter: rows.count == filter.limit ? rows.last?.number : nil))
    }

    func updateTicket(_ request: Request, _ context: Context) async throws -> Response {
        let (body, _) = try await JSONResponse.decode(TicketUpdateRequest.self, request, limit: maxBody)
        return try await run(.update(ticket: try parameter(context), changes: body.changes, by: try cause(request, context)),
                             for: request, context, body: body)
    }

    func comment(_ request: Request, _ context: Context) async throws -> Response {
        let (body, _) = try await JSONResponse.decode(CommentRequest.self, request, limit: maxBody)
        let cause = try cause(request, context)
        var command = Command.comment(ticket: try parameter(context), author: body.author ?? .agent,
                                      authorName: body.authorName ?? cause.name, isPublic: body.isPublic ?? true, body: body.body)
        if let me = context.identity {
            switch me.role {
            case .requester:
                // A requester's comment is always theirs and always public.
                command = .comment(ticket: command.ticketID, author: .requester, authorName: me.name, isPublic: true, body: body.body)
            case .agent:
                command = .comment(ticket: command.ticketID, author: .agent, authorName: me.name, isPublic: body.isPublic ?? true, body: body.body)
            case .supervisor, .admin, .service: break
            }
        }
        return try await run(command, for: request, context, body: body, status: .created)
    }

    func changeLine(_ request: Request, _ context: Context, up: Bool) async throws -> Response {
        var body = LineChangeRequest()
        if request.headers[.contentLength].map({ $0 != "0" }) ?? false || request.headers[.transferEncoding] != nil {
            body = try await JSONResponse.decode(LineChangeRequest.self, request, limit: maxBody).0
        }
        let ticketID = try parameter(context)
        let by = try cause(request, context)
        let command: Command = up ? .escalate(ticket: ticketID, to: body.to, by: by) : .deescalate(ticket: ticketID, to: body.to, by: by)
        return try await run(command, for: request, context, body: body)
    }

    func assign(_ request: Request, _ context: Context) async throws -> Response {
        let (body, _) = try await JSONResponse.decode(AssignRequest.self, request, limit: maxBody)
        if let agent = body.agent, let checkAgent { try await checkAgent(agent) }
        return try await run(.assign(ticket: try parameter(context), agent: body.agent, by: try cause(request, context)),
                             for: request, context, body: body)
    }

    func applyMacro(_ request: Request, _ context: Context) async throws -> Response {
        try await run(.applyMacro(ticket: try parameter(context), macro: try parameter(context, "macro"), by: try cause(request, context)),
                      for: request, context, body: NoBody())
    }

    /// The ticket's history explained: rules considered at each step, their conditions with
    /// the values they saw, what fired (`?rule=NAME` for one rule). Whoever may read the audit.
    func why(_ request: Request, _ context: Context) async throws -> Response {
        try checkQuery(request, allowed: ["rule"])
        let id = try parameter(context)
        let rule = request.uri.queryParameters["rule"].map(String.init)
        if let rule, rule.isEmpty || rule.unicodeScalars.count > RequestLimits.name {
            throw APIError(.badRequest, "invalid_parameter", "rule must be 1…\(RequestLimits.name) characters")
        }
        guard let explanation = try await node.explanation(of: id, rule: rule) else { throw NodeError.notFound(id) }
        return JSONResponse.make(explanation)
    }

    func audit(_ request: Request, _ context: Context) async throws -> Response {
        let id = try parameter(context)
        guard let events = try await node.events(of: id) else { throw NodeError.notFound(id) }
        return JSONResponse.make(AuditView(ticket: id, entries: events.map(AuditEntry.init)))
    }
}
