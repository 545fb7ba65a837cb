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
        let c = try decoder.strictContainer(CodingKeys.self, in: "a new ticket")
        subject = try c.requiredString(CodingKeys.subject, min: 1, max: RequestLimits.subject)
        description = try c.string(CodingKeys.description, max: RequestLimits.text)
        priority = try c.oneOf(Priority.self, CodingKeys.priority, what: "priority")
        channel = try c.oneOf(Channel.self, CodingKeys.channel, what: "channel")
        guard try c.has(CodingKeys.requester) else {
            throw RequestError(.missingField, "'requester' is required: {\"name\": …, \"email\": …}")
        }
        requester = try c.required(RequesterInput.self, CodingKeys.requester)
        tags = try c.strings(CodingKeys.tags)
        fields = try c.stringMap(CodingKeys.fields)
        type = try c.string(CodingKeys.type, max: RequestLimits.identifier)
        skills = try c.strings(CodingKeys.skills)
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
        let c = try decoder.strictContainer(CodingKeys.self, in: "requester")
        email = try c.requiredString(CodingKeys.email, min: 3, max: RequestLimits.email)
        guard email.contains("@") else { throw RequestError(.invalidField, "'requester.email' is not an e-mail address") }
        name = try c.string(CodingKeys.name, max: RequestLimits.name)
        organization = try c.string(CodingKeys.organization, max: RequestLimits.name)
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
    /// Tags to add and to remove.
    public var addTags: [String]?
    public var removeTags: [String]?

    public init(subject: String? = nil, description: String? = nil, priority: String? = nil, type: String? = nil,
                status: String? = nil, fields: [String: String]? = nil, addTags: [String]? = nil, removeTags: [String]? = nil) {
        self.subject = subject; self.description = description; self.priority = priority; self.type = type
        self.status = status; self.fields = fields; self.addTags = addTags; self.removeTags = removeTags
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case subject, description, priority, type, status, fields, addTags = "add_tags", removeTags = "remove_tags"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self, in: "a ticket update")
        subject = try c.string(CodingKeys.subject, min: 1, max: RequestLimits.subject)
        description = try c.string(CodingKeys.description, max: RequestLimits.text)
        // Priority and status are checked by the engine against the workflow (statuses are
        // the workflow's own), which names what it expected.
        priority = try c.string(CodingKeys.priority, max: RequestLimits.identifier)
        type = try c.string(CodingKeys.type, max: RequestLimits.identifier)
        status = try c.string(CodingKeys.status, max: RequestLimits.identifier)
        fields = try c.stringMap(CodingKeys.fields)
        addTags = try c.strings(CodingKeys.addTags)
        removeTags = try c.strings(CodingKeys.removeTags)
    }

    /// The changes as the engine takes them: one entry per field set.
    public var changes: TicketChanges {
        TicketChanges(subject: subject, description: description, priority: priority, type: type, status: status, fields: fields ?? [:],
                      addTags: addTags ?? [], removeTags: removeTags ?? [])
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
        let c = try decoder.strictContainer(CodingKeys.self, in: "a comment")
        body = try c.requiredString(CodingKeys.body, min: 1, max: RequestLimits.text)
        isPublic = try c.value(Bool.self, CodingKeys.isPublic)
        if let text = try c.value(String.self, CodingKeys.author) {
            guard let kind = AuthorKind(rawValue: text), kind != .system else {
                throw RequestError(.invalidField, "author must be agent or requester")
            }
            author = kind
        }
        authorName = try c.string(CodingKeys.authorName, max: RequestLimits.name)
    }

}

/// `POST /api/v1/tickets/{id}/escalate` and `…/deescalate`: the body is optional; without
/// `to` the ticket moves one line.
public struct LineChangeRequest: Codable, Sendable, Equatable {
    public var to: String?
    public init(to: String? = nil) { self.to = to }

    enum CodingKeys: String, CodingKey, CaseIterable { case to }

    public init(from decoder: any Decoder) throws {
        to = try decoder.strictContainer(CodingKeys.self, in: "an escalation").string(CodingKeys.to, min: 1, max: RequestLimits.identifier)
    }
}

/// `POST /api/v1/tickets/{id}/assign`: an agent's id, or null to unassign.
public struct AssignRequest: Codable, Sendable, Equatable {
    public var agent: String?
    public init(agent: String?) { self.agent = agent }

    enum CodingKeys: String, CodingKey, CaseIterable { case agent }

    public init(from decoder: any Decoder) throws {
        agent = try decoder.strictContainer(CodingKeys.self, in: "an assignment").string(CodingKeys.agent, min: 1, max: RequestLimits.identifier)
    }

}
