import TicketflowCore

/// `PUT /api/v1/agents/{id}`: creates the agent or changes the fields sent.
public struct AgentRequest: Codable, Sendable, Equatable {
    public var name: String?
    public var line: String?
    public var skills: [String]?
    public var capacity: Int?
    public var queues: [String]?
    public var presence: Presence?

    public init(name: String? = nil, line: String? = nil, skills: [String]? = nil, capacity: Int? = nil,
                queues: [String]? = nil, presence: Presence? = nil) {
        self.name = name; self.line = line; self.skills = skills; self.capacity = capacity; self.queues = queues; self.presence = presence
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case name, line, skills, capacity, queues, presence }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self, in: "an agent")
        name = try c.string(CodingKeys.name, min: 1, max: RequestLimits.name)
        line = try c.string(CodingKeys.line, min: 1, max: RequestLimits.identifier)
        skills = try c.strings(CodingKeys.skills)
        queues = try c.strings(CodingKeys.queues)
        if let n = try c.value(Int.self, CodingKeys.capacity) {
            guard (0...1000).contains(n) else { throw RequestError(.invalidField, "'capacity' must be a whole number 0…1000") }
            capacity = n
        }
        presence = try c.oneOf(Presence.self, CodingKeys.presence, what: "presence")
    }

}

/// `PUT /api/v1/agents/{id}/presence`.
public struct PresenceRequest: Codable, Sendable, Equatable {
    public var presence: Presence
    public init(presence: Presence) { self.presence = presence }

    enum CodingKeys: String, CodingKey, CaseIterable { case presence }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self, in: "a presence change")
        guard try c.has(CodingKeys.presence) else { throw RequestError(.missingField, "'presence' is required") }
        guard let p = try c.oneOf(Presence.self, CodingKeys.presence, what: "presence") else { throw RequestError(.missingField, "'presence' is required") }
        presence = p
    }
}

/// An agent as the API shows it: who, whether they take work now, where, and how much.
public struct AgentView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var presence: Presence
    public var line: String
    public var queues: [String]
    public var skills: [String]
    /// Open tickets assigned to the agent (and assignments proposed, not yet decided), of `capacity`.
    public var load: Int
    public var capacity: Int

    public init(id: String, name: String, line: String, queues: [String], skills: [String], capacity: Int, presence: Presence, load: Int) {
        self.id = id; self.name = name; self.line = line; self.queues = queues; self.skills = skills
        self.capacity = capacity; self.presence = presence; self.load = load
    }
}

/// `GET /api/v1/agents`.
public struct AgentList: Codable, Sendable, Equatable {
    public var agents: [AgentView]
    public init(agents: [AgentView]) { self.agents = agents }
}

/// `GET /api/v1/agents/{id}/tickets`: the agent's open tickets.
public struct AgentTickets: Codable, Sendable, Equatable {
    public var agent: String
    public var tickets: [TicketView]
    /// In a cluster: nodes that did not answer.
    @OmittedWhenNil public var unavailableNodes: [String]?

    public init(agent: String, tickets: [TicketView], unavailableNodes: [String]? = nil) {
        self.agent = agent; self.tickets = tickets; self.unavailableNodes = unavailableNodes
    }

    enum CodingKeys: String, CodingKey { case agent, tickets, unavailableNodes = "unavailable_nodes" }
}
