import TicketflowAPI
import TicketflowCore

/// The API's views of the core's values. What a client can read of a ticket is decided here.
extension TicketView {
    public init(_ t: Ticket, workflow: Workflow, withComments: Bool = true) {
        self.init(id: t.id, subject: t.subject, description: t.description, status: t.status, priority: t.priority,
                  channel: t.channel, type: t.type, tags: t.tags, fields: t.fields, requiredSkills: t.requiredSkills,
                  requester: RequesterView(name: t.requester.name, email: t.requester.email, organization: t.requester.organization),
                  line: workflow.lines.indices.contains(t.line) ? workflow.lines[t.line].name : String(t.line),
                  queue: t.queue, assignee: t.assignee, createdAt: t.createdAt.iso8601, updatedAt: t.updatedAt.iso8601,
                  workflowVersion: t.workflowVersion, sla: t.slaClocks.values.map(SLAClockView.init),
                  comments: withComments ? t.comments.map(CommentView.init) : nil)
    }
}

extension SLAClockView {
    public init(_ c: SLAClock) {
        self.init(policy: c.policy, clock: c.metric.rawValue, target: c.target.description,
                  state: c.isStopped ? .stopped : (c.isRunning ? .running : .paused), due: c.due?.iso8601,
                  breached: c.isBreached, warned: c.warned, breachedAt: c.breachedAt?.iso8601, fulfilledAt: c.fulfilledAt?.iso8601)
    }
}

extension CommentView {
    public init(_ c: Comment) {
        self.init(id: c.id, author: c.author, authorName: c.authorName, isPublic: c.isPublic, body: c.body, at: c.at.iso8601)
    }
}

extension AuditEntry {
    public init(_ e: Event) {
        self.init(at: e.at.iso8601, cause: CauseView(kind: e.cause.kind, name: e.cause.name), change: e.summary, workflowVersion: e.workflowVersion)
    }
}

extension AgentView {
    public init(_ a: Agent, load: Int) {
        self.init(id: a.id, name: a.name, line: a.line, queues: a.queues, skills: a.skills, capacity: a.capacity, presence: a.presence, load: load)
    }
}

extension NewTicketRequest {
    /// The core's draft of the ticket (the node gives it its id).
    var draft: NewTicket {
        NewTicket(id: "", subject: subject, description: description ?? "",
                  requester: Requester(name: requester.name ?? requester.email, email: requester.email, organization: requester.organization),
                  channel: channel ?? .api, priority: priority ?? .normal, type: type, tags: tags ?? [], fields: fields ?? [:],
                  requiredSkills: skills ?? [])
    }
}

extension RequesterTicketView {
    /// The requester's view of a ticket: public comments only, the fields the workflow marks
    /// public only, the assignee by display name.
    public init(_ t: Ticket, assigneeName: String?, publicFields: [String], withComments: Bool = true) {
        self.init(id: t.id, subject: t.subject, description: t.description, status: t.status, priority: t.priority,
                  fields: t.fields.filter { publicFields.contains($0.key) },
                  createdAt: t.createdAt.iso8601, updatedAt: t.updatedAt.iso8601, assignedTo: assigneeName,
                  comments: withComments ? t.comments.filter(\.isPublic).map(RequesterCommentView.init) : nil)
    }
}

extension RequesterCommentView {
    init(_ c: Comment) {
        self.init(id: c.id, from: c.author == .requester ? .requester : .support,
                  authorName: c.author == .requester ? c.authorName : (c.author == .agent ? c.authorName : "Support"),
                  body: c.body, at: c.at.iso8601)
    }
}
