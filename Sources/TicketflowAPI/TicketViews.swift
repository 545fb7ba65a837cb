import TicketflowCore

/// A ticket as the API shows it (snake_case keys, in this order). Optional values are written
/// as `null`, never left out, so clients see every field.
public struct TicketView: Codable, Sendable, Equatable {
    public var id: String
    public var subject: String
    public var description: String
    public var status: String
    public var priority: Priority
    public var channel: Channel
    public var type: String?
    public var tags: [String]
    public var fields: [String: String]
    public var requiredSkills: [String]
    public var requester: RequesterView
    public var line: String
    public var queue: String
    public var assignee: String?
    public var createdAt: String
    public var updatedAt: String
    public var workflowVersion: String
    public var sla: [SLAClockView]
    /// Left out of lists; present (possibly empty) when one ticket is read.
    @OmittedWhenNil public var comments: [CommentView]?

    public init(id: String, subject: String, description: String, status: String, priority: Priority, channel: Channel,
                type: String?, tags: [String], fields: [String: String], requiredSkills: [String], requester: RequesterView,
                line: String, queue: String, assignee: String?, createdAt: String, updatedAt: String, workflowVersion: String,
                sla: [SLAClockView], comments: [CommentView]?) {
        self.id = id; self.subject = subject; self.description = description; self.status = status; self.priority = priority
        self.channel = channel; self.type = type; self.tags = tags; self.fields = fields; self.requiredSkills = requiredSkills
        self.requester = requester; self.line = line; self.queue = queue; self.assignee = assignee; self.createdAt = createdAt
        self.updatedAt = updatedAt; self.workflowVersion = workflowVersion; self.sla = sla; self.comments = comments
    }

    enum CodingKeys: String, CodingKey {
        case id, subject, description, status, priority, channel, type, tags, fields
        case requiredSkills = "required_skills", requester, line, queue, assignee
        case createdAt = "created_at", updatedAt = "updated_at", workflowVersion = "workflow_version", sla, comments
    }
}

public struct RequesterView: Codable, Sendable, Equatable {
    public var name: String
    public var email: String
    public var organization: String?

    public init(name: String, email: String, organization: String?) {
        self.name = name; self.email = email; self.organization = organization
    }

}

/// One SLA clock of a ticket.
public struct SLAClockView: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable { case running, paused, stopped }

    public var policy: String
    public var clock: String
    public var target: String
    public var state: State
    public var due: String?
    public var breached: Bool
    public var warned: Bool
    public var breachedAt: String?
    public var fulfilledAt: String?

    public init(policy: String, clock: String, target: String, state: State, due: String?, breached: Bool, warned: Bool,
                breachedAt: String?, fulfilledAt: String?) {
        self.policy = policy; self.clock = clock; self.target = target; self.state = state; self.due = due
        self.breached = breached; self.warned = warned; self.breachedAt = breachedAt; self.fulfilledAt = fulfilledAt
    }

    enum CodingKeys: String, CodingKey {
        case policy, clock, target, state, due, breached, warned, breachedAt = "breached_at", fulfilledAt = "fulfilled_at"
    }

}

public struct CommentView: Codable, Sendable, Equatable {
    public var id: Int
    public var author: AuthorKind
    public var authorName: String
    public var isPublic: Bool
    public var body: String
    public var at: String

    public init(id: Int, author: AuthorKind, authorName: String, isPublic: Bool, body: String, at: String) {
        self.id = id; self.author = author; self.authorName = authorName; self.isPublic = isPublic; self.body = body; self.at = at
    }

    enum CodingKeys: String, CodingKey { case id, author, authorName = "author_name", isPublic = "public", body, at }
}

/// `GET /api/v1/tickets`: a page in ticket number order; `next_after` names the page after.
public struct TicketPage: Codable, Sendable, Equatable {
    public var tickets: [TicketView]
    public var nextAfter: Int64?
    /// In a cluster: nodes that did not answer (their tickets are missing from the page).
    @OmittedWhenNil public var unavailableNodes: [String]?

    public init(tickets: [TicketView], nextAfter: Int64?, unavailableNodes: [String]? = nil) {
        self.tickets = tickets; self.nextAfter = nextAfter; self.unavailableNodes = unavailableNodes
    }

    enum CodingKeys: String, CodingKey { case tickets, nextAfter = "next_after", unavailableNodes = "unavailable_nodes" }
}

/// One event of a ticket's journal, as people read it.
public struct AuditEntry: Codable, Sendable, Equatable {
    public var at: String
    /// Who or what made the change: an agent, the requester, the API, a rule by name.
    public var cause: CauseView
    /// The change in words, such as `status: new → open`.
    public var change: String
    /// The workflow (`name@version`) that decided it.
    public var workflowVersion: String

    public init(at: String, cause: CauseView, change: String, workflowVersion: String) {
        self.at = at; self.cause = cause; self.change = change; self.workflowVersion = workflowVersion
    }

    enum CodingKeys: String, CodingKey { case at, cause, change, workflowVersion = "workflow_version" }
}

/// `GET /api/v1/tickets/{id}/audit`: the ticket's entries, oldest first.
public struct AuditView: Codable, Sendable, Equatable {
    public var ticket: String
    public var entries: [AuditEntry]
    public init(ticket: String, entries: [AuditEntry]) { self.ticket = ticket; self.entries = entries }
}

/// Who or what caused a change.
public struct CauseView: Codable, Sendable, Equatable {
    public var kind: Cause.Kind
    public var name: String
    public init(kind: Cause.Kind, name: String) { self.kind = kind; self.name = name }
}
