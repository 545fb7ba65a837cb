import TicketflowCore

/// `POST /api/v1/tickets`.
public struct NewTicketRequest: Codable, Sendable, Equatable {
    public var subject: String
    public var description: String?
    public var priority: Priority?
    public var channel: Channel?
    public var requester: RequesterInput
    public var tags: [String]?
    public var fields: [String: String]?
    public var type: String?
    public var skills: [String]?

    public init(subject: String, description: String? = nil, priority: Priority? = nil, channel: Channel? = nil,
                requester: RequesterInput, tags: [String]? = nil, fields: [String: String]? = nil, type: String? = nil,
                skills: [String]? = nil) {
        self.subject = subject; self.description = description; self.priority = priority; self.channel = channel
        self.requester = requester; self.tags = tags; self.fields = fields; self.type = type; self.skills = skills
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case subject, description, priority, channel, requester, tags, fields, type, skills
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self, in: "a new ticket")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        subject = try c.requiredString(.subject, min: 1, max: RequestLimits.subject)
        description = try c.string(.description, max: RequestLimits.text)
        priority = try c.oneOf(Priority.self, .priority, what: "priority")
        channel = try c.oneOf(Channel.self, .channel, what: "channel")
        guard c.contains(.requester), try !c.decodeNil(forKey: .requester) else {
            throw RequestError(.missingField, "'requester' is required: {\"name\": …, \"email\": …}")
        }
        requester = try c.decode(RequesterInput.self, forKey: .requester)
        tags = try c.strings(.tags)
        fields = try c.stringMap(.fields)
        type = try c.string(.type, max: RequestLimits.identifier)
        skills = try c.strings(.skills)
    }

}

/// Who asks, in a new ticket.
public struct RequesterInput: Codable, Sendable, Equatable {
    public var name: String?
    public var email: String
    public var organization: String?

    public init(name: String? = nil, email: String, organization: String? = nil) {
        self.name = name; self.email = email; self.organization = organization
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case name, email, organization }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self, in: "requester")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        email = try c.requiredString(.email, min: 3, max: RequestLimits.email)
        guard email.contains("@") else { throw RequestError(.invalidField, "'requester.email' is not an e-mail address") }
        name = try c.string(.name, max: RequestLimits.name)
        organization = try c.string(.organization, max: RequestLimits.name)
    }

}

/// `PATCH /api/v1/tickets/{id}`: only the fields sent change.
public struct TicketUpdateRequest: Codable, Sendable, Equatable {
    public var subject: String?
    public var description: String?
    public var priority: String?
    public var type: String?
    public var status: String?
    public var fields: [String: String]?

    public init(subject: String? = nil, description: String? = nil, priority: String? = nil, type: String? = nil,
                status: String? = nil, fields: [String: String]? = nil) {
        self.subject = subject; self.description = description; self.priority = priority; self.type = type
        self.status = status; self.fields = fields
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case subject, description, priority, type, status, fields }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self, in: "a ticket update")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        subject = try c.string(.subject, min: 1, max: RequestLimits.subject)
        description = try c.string(.description, max: RequestLimits.text)
        // Priority and status are checked by the engine against the workflow (statuses are
        // the workflow's own), which names what it expected.
        priority = try c.string(.priority, max: RequestLimits.identifier)
        type = try c.string(.type, max: RequestLimits.identifier)
        status = try c.string(.status, max: RequestLimits.identifier)
        fields = try c.stringMap(.fields)
    }

    /// The changes as the engine takes them: one entry per field set.
    public var changes: TicketChanges {
        TicketChanges(subject: subject, description: description, priority: priority, type: type, status: status, fields: fields ?? [:])
    }
}

/// `POST /api/v1/tickets/{id}/comments`.
public struct CommentRequest: Codable, Sendable, Equatable {
    public var body: String
    public var isPublic: Bool?
    public var author: AuthorKind?
    public var authorName: String?

    public init(body: String, isPublic: Bool? = nil, author: AuthorKind? = nil, authorName: String? = nil) {
        self.body = body; self.isPublic = isPublic; self.author = author; self.authorName = authorName
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case body, isPublic = "public", author, authorName = "author_name"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self, in: "a comment")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        body = try c.requiredString(.body, min: 1, max: RequestLimits.text)
        isPublic = try c.decodeIfPresent(Bool.self, forKey: .isPublic)
        if let text = try c.decodeIfPresent(String.self, forKey: .author) {
            guard let kind = AuthorKind(rawValue: text), kind != .system else {
                throw RequestError(.invalidField, "author must be agent or requester")
            }
            author = kind
        }
        authorName = try c.string(.authorName, max: RequestLimits.name)
    }

}

/// `POST /api/v1/tickets/{id}/escalate` and `…/deescalate`: the body is optional; without
/// `to` the ticket moves one line.
public struct LineChangeRequest: Codable, Sendable, Equatable {
    public var to: String?
    public init(to: String? = nil) { self.to = to }

    enum CodingKeys: String, CodingKey, CaseIterable { case to }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self, in: "an escalation")
        to = try decoder.container(keyedBy: CodingKeys.self).string(.to, min: 1, max: RequestLimits.identifier)
    }
}

/// `POST /api/v1/tickets/{id}/assign`: an agent's id, or null to unassign.
public struct AssignRequest: Codable, Sendable, Equatable {
    public var agent: String?
    public init(agent: String?) { self.agent = agent }

    enum CodingKeys: String, CodingKey, CaseIterable { case agent }

    public init(from decoder: any Decoder) throws {
        try decoder.refuseUnknownKeys(CodingKeys.self, in: "an assignment")
        agent = try decoder.container(keyedBy: CodingKeys.self).string(.agent, min: 1, max: RequestLimits.identifier)
    }

}
