import Hummingbird
import TicketflowAPI
import TicketflowCore

/// Agents: register, read, presence, their open tickets.
extension Routes {
    func listAgents(_ request: Request, _ context: Context) async throws -> Response {
        var list: [AgentView] = []
        for a in await agents.agents() { list.append(AgentView(a, load: await agents.load(of: a.id))) }
        return JSONResponse.make(AgentList(agents: list))
    }

    func readAgent(_ request: Request, _ context: Context) async throws -> Response {
        let id = try parameter(context)
        guard let agent = await agents.agent(id) else { throw APIError(.notFound, "unknown_agent", "no agent with id '\(id)'") }
        return JSONResponse.make(AgentView(agent, load: await agents.load(of: id)))
    }

    func putAgent(_ request: Request, _ context: Context) async throws -> Response {
        let (body, _) = try await JSONResponse.decode(AgentRequest.self, request, limit: maxBody)
        let id = try parameter(context)
        let existing = await agents.agent(id)
        guard let line = body.line ?? existing?.line else {
            throw APIError(.notFound, "unknown_agent", "no agent with id '\(id)' to change; to register it, give its 'line'")
        }
        let agent = Agent(id: id, name: body.name ?? existing?.name ?? id, line: line,
                          queues: body.queues ?? existing?.queues ?? [], skills: body.skills ?? existing?.skills ?? [],
                          capacity: body.capacity ?? existing?.capacity ?? 5, presence: body.presence ?? existing?.presence ?? .offline)
        try await agents.upsert(agent)
        return JSONResponse.make(AgentView(agent, load: await agents.load(of: id)), status: existing == nil ? .created : .ok)
    }

    func setPresence(_ request: Request, _ context: Context) async throws -> Response {
        let (body, _) = try await JSONResponse.decode(PresenceRequest.self, request, limit: maxBody)
        let id = try parameter(context)
        try checkSelf(context, id)
        let agent = try await agents.setPresence(id, body.presence)
        return JSONResponse.make(AgentView(agent, load: await agents.load(of: id)))
    }

    func agentTickets(_ request: Request, _ context: Context) async throws -> Response {
        let id = try parameter(context)
        try checkSelf(context, id)
        guard await agents.agent(id) != nil else { throw APIError(.notFound, "unknown_agent", "no agent with id '\(id)'") }
        return JSONResponse.make(try await agents.openTickets(of: id))
    }
}
