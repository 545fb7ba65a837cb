import TicketflowCore

/// A ticket as its requester may see it. Built only from what a requester may know: no
/// private comments or internal notes, only the custom fields the workflow marks public, no
/// tags, skills, line, queue, SLA clocks, rule names or audit trail, and of the assignee only a
/// display name. Every answer to a requester is made of this type, never of `TicketView`.
public struct RequesterTicketView: Codable, Sendable, Equatable {
    public var id: String
    public var subject: String
    public var description: String
    public var status: String
    public var priority: Priority
    /// The custom fields the workflow's `portal.public_fields` names; no other.
    public var fields: [String: String]
    public var createdAt: String
    public var updatedAt: String
    /// The display name of whoever works the ticket, if anyone does.
    public var assignedTo: String?
    /// The public thread; left out of lists.
    @OmittedWhenNil public var comments: [RequesterCommentView]?

    public init(id: String, subject: String, description: String, status: String, priority: Priority, fields: [String: String],
                createdAt: String, updatedAt: String, assignedTo: String?, comments: [RequesterCommentView]?) {
        self.id = id; self.subject = subject; self.description = description; self.status = status; self.priority = priority
        self.fields = fields; self.createdAt = createdAt; self.updatedAt = updatedAt; self.assignedTo = assignedTo; self.comments = comments
    }

    enum CodingKeys: String, CodingKey {
        case id, subject, description, status, priority, fields, createdAt = "created_at", updatedAt = "updated_at"
        case assignedTo = "assigned_to", comments
    }
}

/// A public comment as the requester sees it: who wrote it (support or you), the name shown, when.
public struct RequesterCommentView: Codable, Sendable, Equatable {
    public enum From: String, Codable, Sendable { case support, requester }
    public var id: Int
    public var from: From
    public var authorName, body, at: String

    public init(id: Int, from: From, authorName: String, body: String, at: String) {
        self.id = id; self.from = from; self.authorName = authorName; self.body = body; self.at = at
    }

    enum CodingKeys: String, CodingKey { case id, from, authorName = "author_name", body, at }
}

/// A page of a requester's own tickets.
public struct RequesterTicketPage: Codable, Sendable, Equatable {
    public var tickets: [RequesterTicketView]
    public var nextAfter: Int64?

    public init(tickets: [RequesterTicketView], nextAfter: Int64?) { self.tickets = tickets; self.nextAfter = nextAfter }

    enum CodingKeys: String, CodingKey { case tickets, nextAfter = "next_after" }
}
