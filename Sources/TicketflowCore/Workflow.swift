/// A validated workflow: the typed value that the DSL compiles to and the engine decides with.
///
/// It lives in Core (not in the DSL module) because decisions depend on it and Core
/// must not import outer layers; the DSL module only parses and checks.
public struct Workflow: Hashable, Codable, Sendable {
    public var name: String
    public var version: String
    public var statuses: [String]
    public var initialStatus: String
    /// Statuses that count as solved: they stop resolution clocks and open no replies.
    public var solvedStatuses: Set<String>
    /// Allowed transitions; nil means any status may follow any other.
    public var transitions: [String: Set<String>]?
    public var lines: [Line]
    public var queues: [String: QueueDefinition]
    public var calendars: [String: BusinessCalendar]
    public var slaPolicies: [SLAPolicy]
    public var triggers: [Trigger]
    public var automations: [Automation]
    public var macros: [String: Macro]
    public var templates: [String: Template]
    /// How many trigger firings one causal chain may contain before the engine stops it.
    public var triggerLoopCap: Int
    /// Where the node delivers notifications: an HTTP(S) webhook, or nil for the log sink.
    public var webhook: String?
    /// What requesters see and choose in the portal.
    public var portal = PortalSettings()

    public init(name: String, version: String, statuses: [String], initialStatus: String? = nil,
                solvedStatuses: Set<String>? = nil, transitions: [String: Set<String>]? = nil,
                lines: [Line], queues: [String: QueueDefinition] = [:], calendars: [String: BusinessCalendar] = [:],
                slaPolicies: [SLAPolicy] = [], triggers: [Trigger] = [], automations: [Automation] = [],
                macros: [String: Macro] = [:], templates: [String: Template] = [:], triggerLoopCap: Int = 20,
                webhook: String? = nil) {
        self.name = name; self.version = version; self.statuses = statuses
        self.initialStatus = initialStatus ?? statuses.first ?? "new"
        self.solvedStatuses = solvedStatuses ?? Set(statuses.filter { $0 == "solved" || $0 == "closed" })
        self.transitions = transitions; self.lines = lines
        var allQueues = queues
        for line in lines where allQueues[line.queue] == nil {
            allQueues[line.queue] = QueueDefinition(name: line.queue, routing: .leastLoaded)
        }
        self.queues = allQueues
        var allCalendars = calendars
        allCalendars[BusinessCalendar.alwaysOpen.name] = allCalendars[BusinessCalendar.alwaysOpen.name] ?? .alwaysOpen
        self.calendars = allCalendars
        self.slaPolicies = slaPolicies; self.triggers = triggers; self.automations = automations
        self.macros = macros; self.templates = templates; self.triggerLoopCap = triggerLoopCap
        self.webhook = webhook
    }

    /// A label for audit entries: `support-center@3`.
    public var label: String { "\(name)@\(version)" }

    public func lineIndex(named name: String) -> Int? { lines.firstIndex { $0.name == name } }

    public func allows(from: String, to: String) -> Bool {
        guard from != to else { return true }
        guard let transitions else { return true }
        return transitions[from]?.contains(to) ?? false
    }
}

/// An escalation line (L1, L2, L3 …) and the queue that holds its tickets.
public struct Line: Hashable, Codable, Sendable {
    public var name, queue: String
    public init(name: String, queue: String) { self.name = name; self.queue = queue }
}

/// How a queue picks an agent for a waiting ticket.
public enum RoutingPolicy: String, Codable, CaseIterable, Sendable {
    case roundRobin = "round_robin"
    case leastLoaded = "least_loaded"
    case skills
}

public struct QueueDefinition: Hashable, Codable, Sendable {
    public var name: String
    public var routing: RoutingPolicy
    public init(name: String, routing: RoutingPolicy) { self.name = name; self.routing = routing }
}

/// The clocks an SLA policy can keep.
public enum SLAMetric: String, Codable, CaseIterable, Sendable {
    /// From creation to the first public agent comment.
    case firstReply = "first_reply"
    /// From each public requester comment to the next public agent comment.
    case nextReply = "next_reply"
    /// Between public agent comments while the ticket is not solved.
    case periodicUpdate = "periodic_update"
    /// From creation until the ticket is solved.
    case resolution
}

/// A warning threshold: a share of the target or a fixed time before the due instant.
public enum WarnThreshold: Hashable, Codable, Sendable {
    case percent(Int)
    case before(TimeSpan)

    /// Business time after the clock starts at which the warning is due.
    public func offset(forTarget target: TimeSpan) -> TimeSpan {
        switch self {
        case .percent(let p): return TimeSpan(millis: target.millis * Int64(p) / 100)
        case .before(let span): return TimeSpan(millis: max(0, target.millis - span.millis))
        }
    }
}

/// One clock of a policy: its target, calendar, pauses, warning and breach actions.
public struct SLATarget: Hashable, Codable, Sendable {
    public var metric: SLAMetric
    public var target: TimeSpan
    public var calendar: String
    public var pauseWhen: Condition?
    public var warnAt: WarnThreshold?
    public var onWarning: [Action]
    public var onBreach: [Action]
    /// Escalation ladder after a breach: each level fires once, `after` the breach.
    public var escalations: [EscalationLevel]

    public init(metric: SLAMetric, target: TimeSpan, calendar: String, pauseWhen: Condition? = nil,
                warnAt: WarnThreshold? = nil, onWarning: [Action] = [], onBreach: [Action] = [],
                escalations: [EscalationLevel] = []) {
        self.metric = metric; self.target = target; self.calendar = calendar; self.pauseWhen = pauseWhen
        self.warnAt = warnAt; self.onWarning = onWarning; self.onBreach = onBreach; self.escalations = escalations
    }
}

public struct EscalationLevel: Hashable, Codable, Sendable {
    public var after: TimeSpan
    public var actions: [Action]
    public init(after: TimeSpan, actions: [Action]) { self.after = after; self.actions = actions }
}

/// An SLA policy. Within a group the first policy whose condition matches applies;
/// policies in different groups (a customer SLA and a per-line OLA) apply together.
public struct SLAPolicy: Hashable, Codable, Sendable {
    public var name, group: String
    public var when: Condition?
    public var targets: [SLATarget]

    public init(name: String, group: String = "sla", when: Condition?, targets: [SLATarget]) {
        self.name = name; self.group = group; self.when = when; self.targets = targets
    }
}

/// The ticket events a trigger can listen to.
public enum TriggerEvent: String, Codable, CaseIterable, Sendable {
    case created = "ticket.created", updated = "ticket.updated", commented = "ticket.commented"
    case escalated = "ticket.escalated", deescalated = "ticket.deescalated"
    case slaWarning = "sla.warning", slaBreach = "sla.breach", followUp = "ticket.follow_up"
}

/// An event rule: when one of `on` happens and `condition` holds, run `actions`.
public struct Trigger: Hashable, Codable, Sendable {
    public var name: String
    public var on: Set<TriggerEvent>
    public var condition: Condition?
    public var actions: [Action]
    public init(name: String, on: Set<TriggerEvent>, condition: Condition?, actions: [Action]) {
        self.name = name; self.on = on; self.condition = condition; self.actions = actions
    }
}

/// A time rule, fired by an exact timer when its condition becomes true; once per arming.
public struct Automation: Hashable, Codable, Sendable {
    public var name: String
    public var condition: Condition
    public var actions: [Action]
    public init(name: String, condition: Condition, actions: [Action]) {
        self.name = name; self.condition = condition; self.actions = actions
    }
}

public struct Macro: Hashable, Codable, Sendable {
    public var name: String
    public var actions: [Action]
    public init(name: String, actions: [Action]) { self.name = name; self.actions = actions }

    /// The placeholders its comments fill in, in order, once each (macros it applies included,
    /// through `macros`, to a bounded depth).
    public func placeholders(macros: [String: Macro], depth: Int = 0) -> [String] {
        var out: [String] = []
        for action in actions {
            switch action {
            case .comment(_, let body):
                for case .placeholder(let name) in body.parts where !out.contains(name) { out.append(name) }
            case .macro(let inner) where depth < 5:
                for name in macros[inner]?.placeholders(macros: macros, depth: depth + 1) ?? [] where !out.contains(name) { out.append(name) }
            default: break
            }
        }
        return out
    }
}

/// Where an escalation goes.
public enum LineTarget: Hashable, Codable, Sendable {
    case next
    case previous
    case named(String)
}

/// What a rule does to a ticket.
public indirect enum Action: Hashable, Codable, Sendable {
    case set(field: String, value: String)
    case addTags([String])
    case removeTags([String])
    case assignQueue(String)
    case assignAgent(String)
    case escalate(LineTarget)
    case deescalate(LineTarget)
    case comment(isPublic: Bool, body: Template)
    case macro(String)
    case notify(recipient: String, template: String)
    case followUp(after: TimeSpan, note: String)

    /// The ticket fields this action writes, for checks of nullifying and conflicting rules.
    public var writtenFields: [String] {
        switch self {
        case .set(let field, _): return [field]
        case .addTags, .removeTags: return ["tags"]
        case .assignQueue: return ["queue", "assignee"]
        case .assignAgent: return ["assignee"]
        case .escalate, .deescalate: return ["line", "queue", "assignee"]
        case .comment: return ["comment"]
        case .macro, .notify, .followUp: return []
        }
    }
}

/// The workflow's `portal:` section: which custom fields requesters see and fill in (every
/// other field stays internal), and which priorities they may choose.
public struct PortalSettings: Hashable, Codable, Sendable {
    public var publicFields: [String] = []
    public var priorities: [Priority] = Priority.allCases
    public init(publicFields: [String] = [], priorities: [Priority] = Priority.allCases) {
        self.publicFields = publicFields
        self.priorities = priorities
    }

    /// The priority a requester's new ticket gets when they choose none: normal if offered,
    /// otherwise the first offered.
    public var defaultPriority: Priority { priorities.contains(.normal) ? .normal : priorities[0] }
}
