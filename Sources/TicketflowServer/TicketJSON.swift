import Foundation
import TicketflowCore

/// The API's JSON shapes for tickets, agents and audit entries (snake_case keys).
enum Views {
    static func ticket(_ t: Ticket, workflow: Workflow, withComments: Bool = true) -> [String: Any] {
        var out: [String: Any] = [
            "id": t.id, "subject": t.subject, "description": t.description, "status": t.status,
            "priority": t.priority.rawValue, "channel": t.channel.rawValue, "tags": t.tags, "fields": t.fields,
            "required_skills": t.requiredSkills,
            "requester": ["name": t.requester.name, "email": t.requester.email, "organization": t.requester.organization.map { $0 as Any } ?? NSNull()] as [String: Any],
            "line": workflow.lines.indices.contains(t.line) ? workflow.lines[t.line].name : String(t.line),
            "queue": t.queue, "assignee": t.assignee.map { $0 as Any } ?? NSNull(), "type": t.type.map { $0 as Any } ?? NSNull(),
            "created_at": t.createdAt.iso8601, "updated_at": t.updatedAt.iso8601, "workflow_version": t.workflowVersion,
            "sla": t.slaClocks.values.map(sla),
        ]
        if withComments { out["comments"] = t.comments.map(comment) }
        return out
    }

    static func sla(_ c: SLAClock) -> [String: Any] {
        [
            "policy": c.policy, "clock": c.metric.rawValue, "target": c.target.description,
            "state": c.isStopped ? "stopped" : (c.isRunning ? "running" : "paused"),
            "due": c.due.map { $0.iso8601 as Any } ?? NSNull(), "breached": c.isBreached, "warned": c.warned,
            "breached_at": c.breachedAt.map { $0.iso8601 as Any } ?? NSNull(),
            "fulfilled_at": c.fulfilledAt.map { $0.iso8601 as Any } ?? NSNull(),
        ]
    }

    static func comment(_ c: Comment) -> [String: Any] {
        ["id": c.id, "author": c.author.rawValue, "author_name": c.authorName, "public": c.isPublic, "body": c.body, "at": c.at.iso8601]
    }

    static func audit(_ e: Event) -> [String: Any] {
        ["at": e.at.iso8601, "cause": ["kind": e.cause.kind.rawValue, "name": e.cause.name], "change": e.summary,
         "workflow_version": e.workflowVersion]
    }

    static func agent(_ a: Agent, load: Int) -> [String: Any] {
        ["id": a.id, "name": a.name, "line": a.line, "queues": a.queues, "skills": a.skills, "capacity": a.capacity,
         "presence": a.presence.rawValue, "load": load]
    }
}
