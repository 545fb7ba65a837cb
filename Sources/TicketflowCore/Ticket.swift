/// Where a ticket came from. Every channel ends up as the same kind of ticket.
public enum Channel: String, Codable, CaseIterable, Sendable {
    case email, web, chat, phone, social, api
}

/// Ticket priority, ordered so that conditions can compare with `<` and `>`.
public enum Priority: String, Codable, CaseIterable, Comparable, Sendable {
    case low, normal, high, urgent

    public var rank: Int { Priority.allCases.firstIndex(of: self)! }
    public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rank < rhs.rank }
}

/// The person a ticket is for.
public struct Requester: Hashable, Codable, Sendable {
    public var name: String
    public var email: String
    public var organization: String?

    public init(name: String, email: String, organization: String? = nil) {
        self.name = name; self.email = email; self.organization = organization
    }
}

/// Who wrote a comment.
public enum AuthorKind: String, Codable, CaseIterable, Sendable {
    case agent, requester, system
}

/// A comment on a ticket. Private comments are visible to agents only.
public struct Comment: Hashable, Codable, Sendable {
    public var id: Int
    public var author: AuthorKind
    public var authorName: String
    public var isPublic: Bool
    public var body: String
    public var at: Instant

    public init(id: Int, author: AuthorKind, authorName: String, isPublic: Bool, body: String, at: Instant) {
        self.id = id; self.author = author; self.authorName = authorName
        self.isPublic = isPublic; self.body = body; self.at = at
    }
}

/// A ticket: the state that `apply(_:)` builds from its events.
///
/// The whole history stays on the ticket when it changes line, queue or assignee,
/// so the second line sees everything the first line saw.
public struct Ticket: Hashable, Codable, Sendable {
    public var id, subject, description: String
    public var requester: Requester
    public var channel: Channel
    public var priority: Priority
    public var status: String
    public var type: String?
    public var tags: [String]
    public var fields: [String: String]
    public var requiredSkills: [String]
    /// Index into the workflow's escalation lines (0 = first line).
    public var line: Int
    public var queue: String
    public var assignee: String?
    public var comments: [Comment]
    public var createdAt: Instant
    public var updatedAt: Instant
    /// When the ticket last entered each status; drives `since: {solved: 4d}` rules.
    public var enteredStatusAt: SortedMap<Instant>
    /// SLA clocks, keyed by `policy/clock`.
    public var slaClocks: SortedMap<SLAClock>
    /// Pending timers by deterministic id; the shell's timer service mirrors this map.
    public var timers: SortedMap<TimerEntry>
    /// Automations that fired in their current arming (reset when their condition turns false).
    public var firedAutomations: Set<String>
    /// Number of events applied; makes notification ids deterministic.
    public var version: Int = 0
    /// The workflow version that made the last decision.
    public var workflowVersion: String

    public init(id: String, subject: String, description: String, requester: Requester, channel: Channel,
                priority: Priority, status: String, type: String? = nil, tags: [String] = [],
                fields: [String: String] = [:], requiredSkills: [String] = [], line: Int = 0, queue: String = "",
                assignee: String? = nil, createdAt: Instant, workflowVersion: String = "") {
        self.id = id; self.subject = subject; self.description = description; self.requester = requester
        self.channel = channel; self.priority = priority; self.status = status; self.type = type
        self.tags = tags; self.fields = fields; self.requiredSkills = requiredSkills; self.line = line
        self.queue = queue; self.assignee = assignee; self.comments = []; self.createdAt = createdAt
        self.updatedAt = createdAt; self.enteredStatusAt = [status: createdAt]; self.slaClocks = [:]
        self.timers = [:]; self.firedAutomations = []; self.workflowVersion = workflowVersion
    }
}

/// A pending timer: the instant it is due and what it is for.
public struct TimerEntry: Hashable, Codable, Sendable {
    public var due: Instant
    public var purpose: TimerPurpose

    public init(due: Instant, purpose: TimerPurpose) { self.due = due; self.purpose = purpose }
}

/// Why a timer exists. A due timer never changes state itself: it becomes a
/// `timerFired` command that the engine decides on like any other.
public enum TimerPurpose: Hashable, Codable, Sendable {
    case slaWarning(clock: String)
    case slaBreach(clock: String)
    case slaEscalation(clock: String, level: Int)
    case automation(name: String)
    case followUp(note: String)
}

/// Agent presence; only online agents receive new assignments.
public enum Presence: String, Codable, CaseIterable, Sendable {
    case online, away, offline
}

/// A support agent: the line they work on, what they know and how much they can take.
public struct Agent: Hashable, Codable, Sendable {
    public var id, name, line: String
    public var queues, skills: [String]
    public var capacity: Int
    public var presence: Presence

    public init(id: String, name: String, line: String, queues: [String] = [], skills: [String] = [],
                capacity: Int = 5, presence: Presence = .offline) {
        self.id = id; self.name = name; self.line = line; self.queues = queues
        self.skills = skills; self.capacity = capacity; self.presence = presence
    }
}
