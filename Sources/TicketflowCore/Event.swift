/// Who or what caused a change. Every audit entry names one.
public struct Cause: Hashable, Codable, Sendable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable {
        case agent, requester, api, trigger, automation, sla, macro, system
    }
    public var kind: Kind
    public var name: String

    public init(_ kind: Kind, _ name: String) { self.kind = kind; self.name = name }
    public static let api = Cause(.api, "api")
    public static let system = Cause(.system, "engine")
    public var description: String { "\(kind.rawValue):\(name)" }
}

/// A fact that happened to a ticket, past tense. `Ticket.apply` folds them into state.
///
/// The two large payloads (a whole ticket, a whole SLA clock) are stored out of line, so a
/// change — and every event — stays small to copy: inline they made each event 344 bytes.
public enum Change: Hashable, Codable, Sendable {
    indirect case created(Ticket)
    case fieldChanged(field: String, from: String?, to: String?)
    case statusChanged(from: String, to: String)
    case commented(Comment)
    case lineChanged(from: Int, to: Int, queue: String)
    case queued(queue: String)
    case assigned(agent: String?)
    indirect case slaClockSet(key: String, clock: SLAClock)
    case slaClockRemoved(key: String)
    case slaWarned(key: String)
    case slaBreached(key: String)
    case slaEscalated(key: String, level: Int)
    case timerSet(id: String, entry: TimerEntry)
    case timerCleared(id: String)
    case timerFired(id: String, lateBy: TimeSpan)
    case automationArmed(name: String)
    case automationFired(name: String)
    case notified(Notification)
    case followUpDue(note: String)
    case note(String)
}

/// A notification put in the outbox; delivery is the shell's job.
public struct Notification: Hashable, Codable, Sendable {
    public var id, recipient, template, body: String

    public init(id: String, recipient: String, template: String, body: String) {
        self.id = id; self.recipient = recipient; self.template = template; self.body = body
    }
}

/// One journal entry: a change, when it happened, and why.
public struct Event: Hashable, Codable, Sendable {
    public var ticket: String
    public var at: Instant
    public var cause: Cause
    public var change: Change
    public var workflowVersion: String

    public init(ticket: String, at: Instant, cause: Cause, change: Change, workflowVersion: String) {
        self.ticket = ticket; self.at = at; self.cause = cause; self.change = change
        self.workflowVersion = workflowVersion
    }
}

extension Event {
    /// A one-line, human-readable account for the audit history.
    public var summary: String {
        switch change {
        case .created(let t): return "created (\(t.priority.rawValue), \(t.channel.rawValue)) in \(t.queue)"
        case let .fieldChanged(field, from, to): return "\(field): \(from ?? "∅") → \(to ?? "∅")"
        case let .statusChanged(from, to): return "status: \(from) → \(to)"
        case .commented(let c): return "\(c.isPublic ? "public" : "private") comment by \(c.author.rawValue) \(c.authorName)"
        case let .lineChanged(from, to, queue): return "line: \(from) → \(to), queue \(queue)"
        case .queued(let q): return "queued in \(q)"
        case .assigned(let a): return a.map { "assigned to \($0)" } ?? "unassigned"
        case let .slaClockSet(key, clock):
            let state = clock.isRunning ? "running" : (clock.isStopped ? "stopped" : "paused")
            return "SLA \(key) \(state)" + (clock.due.map { ", due \($0)" } ?? "")
        case .slaClockRemoved(let key): return "SLA \(key) removed"
        case .slaWarned(let key): return "SLA \(key) warning"
        case .slaBreached(let key): return "SLA \(key) breached"
        case let .slaEscalated(key, level): return "SLA \(key) escalation level \(level)"
        case let .timerSet(id, entry): return "timer \(id) at \(entry.due)"
        case .timerCleared(let id): return "timer \(id) cleared"
        case let .timerFired(id, late):
            return late.millis > 0 ? "timer \(id) fired late by \(late)" : "timer \(id) fired"
        case .automationArmed(let name): return "automation \(name) re-armed"
        case .automationFired(let name): return "automation \(name) fired"
        case .notified(let n): return "notify \(n.recipient) with \(n.template)"
        case .followUpDue(let note): return "follow-up due: \(note)"
        case .note(let text): return text
        }
    }
}

/// What agents, requesters, integrations and timers ask of the engine.
public enum Command: Hashable, Codable, Sendable {
    case create(NewTicket)
    case update(ticket: String, changes: TicketChanges, by: Cause)
    case setStatus(ticket: String, status: String, by: Cause)
    case comment(ticket: String, author: AuthorKind, authorName: String, isPublic: Bool, body: String)
    case escalate(ticket: String, to: String?, by: Cause)
    case deescalate(ticket: String, to: String?, by: Cause)
    case assign(ticket: String, agent: String?, by: Cause)
    case applyMacro(ticket: String, macro: String, by: Cause)
    case timerFired(ticket: String, timer: String)
}

/// The fields a client supplies to create a ticket.
public struct NewTicket: Hashable, Codable, Sendable {
    public var id, subject, description: String
    public var requester: Requester
    public var channel: Channel
    public var priority: Priority
    public var type: String?
    public var tags: [String]
    public var fields: [String: String]
    public var requiredSkills: [String]

    public init(id: String, subject: String, description: String = "", requester: Requester,
                channel: Channel = .web, priority: Priority = .normal, type: String? = nil,
                tags: [String] = [], fields: [String: String] = [:], requiredSkills: [String] = []) {
        self.id = id; self.subject = subject; self.description = description; self.requester = requester
        self.channel = channel; self.priority = priority; self.type = type; self.tags = tags
        self.fields = fields; self.requiredSkills = requiredSkills
    }
}
