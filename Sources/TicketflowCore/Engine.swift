/// The pure decision function for one ticket: `decide(command, ticket, now) -> events`.
///
/// It never reads a clock, never performs I/O and never changes its input: it works on a
/// private copy of the ticket, applying each event as it emits it so that later rules see
/// earlier changes, and returns the events for the shell to commit and then apply.
public struct Engine: Sendable {
    public var workflow: Workflow { didSet { plan = EnginePlan(workflow) } }
    private(set) var plan: EnginePlan

    public init(workflow: Workflow) {
        self.workflow = workflow
        plan = EnginePlan(workflow)
    }

    /// What a decision produced: its events, the ticket after them (exactly what applying
    /// the events to the ticket gives, without doing it twice), and the ticket's routing fact
    /// after each event that changed it, in order.
    public struct Decision: Sendable {
        public var events: [Event]
        public var ticket: Ticket
        /// The ticket's routing fact before the decision (nil for a new ticket).
        public var routingBefore: RoutingFact?
        public var routingTrail: [RoutingFact]
    }

    /// Decides a command for an existing ticket (or `nil` for `create`).
    public func decide(_ command: Command, for ticket: Ticket?, at now: Instant) -> Result<[Event], Rejection> {
        decision(command, for: ticket, at: now).map(\.events)
    }

    /// Decides a command, returning the ticket after it as well as the events.
    public func decision(_ command: Command, for ticket: Ticket?, at now: Instant) -> Result<Decision, Rejection> {
        do {
            var decider: Decider
            switch command {
            case .create(let new):
                guard ticket == nil else { return .failure(Rejection(.duplicateTicket, "ticket \(new.id) already exists")) }
                decider = try Decider.creating(new, workflow: workflow, plan: plan, now: now)
            default:
                guard let ticket else { return .failure(Rejection(.unknownTicket, "no such ticket")) }
                decider = Decider(workflow: workflow, plan: plan, now: now, ticket: ticket)
                try decider.handle(command)
            }
            decider.runTriggers()
            decider.settle()
            return .success(Decision(events: decider.events, ticket: decider.ticket, routingBefore: decider.routingBefore,
                                     routingTrail: decider.routingTrail))
        } catch let rejection as Rejection {
            return .failure(rejection)
        } catch {
            return .failure(Rejection(.internalError, "\(error)"))
        }
    }
}

/// The working state of one decision: a private copy of the ticket and the events so far.
struct Decider {
    /// What conditions read: the private ticket copy, the workflow, the instant, and while
    /// triggers run the chain's changes and comment. Kept as one value, so evaluating a
    /// condition builds nothing (building a context for each evaluation copied the ticket
    /// and the workflow every time: a tenth of all simulation time).
    var ctx: EvaluationContext
    var ticket: Ticket {
        _read { yield ctx.ticket }
        _modify { yield &ctx.ticket }
    }
    var workflow: Workflow { _read { yield ctx.workflow } }
    var now: Instant { ctx.now }
    /// Fields changed in this causal chain: first old value, latest new value.
    var changes: [String: (from: String?, to: String?)] {
        _read { yield ctx.changes }
        _modify { yield &ctx.changes }
    }
    var events: [Event] = []
    /// Trigger events this chain raised.
    var raised: Set<TriggerEvent> = []
    /// Public agent / requester comments in this chain; they drive reply clocks.
    var comment: Comment? { didSet { ctx.comment = comment } }
    /// The agent applying a macro, while its actions run: the macro's comments are theirs.
    var actingAgent: String?
    /// The ticket's routing fact before the decision, and after each event that changed it.
    var routingBefore: RoutingFact?
    var routingTrail: [RoutingFact] = []
    var statusBefore: String
    let plan: EnginePlan

    init(workflow: Workflow, plan: EnginePlan, now: Instant, ticket: Ticket, isNew: Bool = false) {
        ctx = EvaluationContext(ticket: ticket, workflow: workflow, now: now)
        statusBefore = ticket.status
        routingBefore = isNew ? nil : ticket.routingFact(in: workflow)
        self.plan = plan
    }

    static func creating(_ new: NewTicket, workflow: Workflow, plan: EnginePlan, now: Instant) throws -> Decider {
        guard !new.id.isEmpty else { throw Rejection(.invalidField, "ticket id must not be empty") }
        guard !new.subject.isEmpty else { throw Rejection(.invalidField, "subject must not be empty") }
        guard let first = workflow.lines.first else { throw Rejection(.noLines, "the workflow defines no lines") }
        let ticket = Ticket(id: new.id, subject: new.subject, description: new.description, requester: new.requester,
                            channel: new.channel, priority: new.priority, status: workflow.initialStatus,
                            type: new.type, tags: Array(Set(new.tags)).sorted(), fields: new.fields,
                            requiredSkills: new.requiredSkills, line: 0, queue: first.queue, assignee: nil,
                            createdAt: now, workflowVersion: plan.label)
        var decider = Decider(workflow: workflow, plan: plan, now: now, ticket: ticket, isNew: true)
        decider.emit(.created(ticket), .api)
        decider.raised.insert(.created)
        return decider
    }

    mutating func emit(_ change: Change, _ cause: Cause) {
        let event = Event(ticket: ticket.id, at: now, cause: cause, change: change, workflowVersion: plan.label)
        switch change {
        case let .fieldChanged(field, from, to): record(field, from, to)
        case let .statusChanged(from, to): record("status", from, to)
        case let .lineChanged(from, to, queue):
            let lines = workflow.lines
            record("line", lines.indices.contains(from) ? lines[from].name : nil, lines.indices.contains(to) ? lines[to].name : nil)
            record("queue", ticket.queue, queue)
        case .queued(let queue): record("queue", ticket.queue, queue)
        case .assigned(let agent): record("assignee", ticket.assignee, agent)
        default: break
        }
        ticket.apply(event)
        events.append(event)
        if change.affectsRouting { routingTrail.append(ticket.routingFact(in: workflow)) }
    }

    private mutating func record(_ field: String, _ from: String?, _ to: String?) {
        guard from != to else { return }
        changes[field] = (changes[field]?.from ?? from, to)
    }

    // MARK: Commands

    mutating func handle(_ command: Command) throws {
        switch command {
        case .create:
            break
        case let .update(_, fieldChanges, cause):
            guard !fieldChanges.isEmpty else { throw Rejection(.emptyUpdate, "an update must change at least one field") }
            // Validate everything first, so that a bad field changes nothing.
            let entries = fieldChanges.entries
            for (field, value) in entries { try validate(field: field, value: value) }
            for tag in fieldChanges.addTags + fieldChanges.removeTags where tag.isEmpty || tag.contains(",") {
                throw Rejection(.invalidField, "a tag must not be empty or contain a comma: '\(tag)'")
            }
            for (field, value) in entries { try set(field: field, to: value, cause: cause) }
            if !fieldChanges.addTags.isEmpty { try perform(.addTags(fieldChanges.addTags), cause: cause, strict: true, depth: 0) }
            if !fieldChanges.removeTags.isEmpty { try perform(.removeTags(fieldChanges.removeTags), cause: cause, strict: true, depth: 0) }
            raised.insert(.updated)
        case let .setStatus(_, status, cause):
            try set(field: "status", to: status, cause: cause)
            raised.insert(.updated)
        case let .comment(_, author, authorName, isPublic, body):
            guard !body.isEmpty else { throw Rejection(.invalidField, "comment body must not be empty") }
            addComment(author: author, name: authorName, isPublic: isPublic, body: body,
                       cause: Cause(author == .agent ? .agent : (author == .requester ? .requester : .system), authorName))
            raised.insert(.commented)
        case let .escalate(_, target, cause):
            try changeLine(target.map { LineTarget.named($0) } ?? .next, escalating: true, cause: cause, strict: true)
        case let .deescalate(_, target, cause):
            try changeLine(target.map { LineTarget.named($0) } ?? .previous, escalating: false, cause: cause, strict: true)
        case let .assign(_, agent, cause):
            guard !ticket.isSolved(in: workflow) || agent == nil else {
                throw Rejection(.ticketSolved, "a \(ticket.status) ticket cannot be assigned")
            }
            if ticket.assignee != agent { emit(.assigned(agent: agent), cause) }
            raised.insert(.updated)
        case let .applyMacro(_, name, cause):
            guard let macro = workflow.macros[name] else { throw Rejection(.unknownMacro, "no macro named '\(name)'") }
            // The audit says who applied it; each change it makes names the macro, and a comment
            // it writes for an agent is that agent's reply (it satisfies reply clocks).
            emit(.note("macro '\(name)' applied by \(cause)"), cause)
            actingAgent = cause.kind == .agent ? cause.name : nil
            defer { actingAgent = nil }
            for action in macro.actions { try perform(action, cause: Cause(.macro, macro.name), strict: cause.kind != .trigger, depth: 1) }
            raised.insert(.updated)
        case let .timerFired(_, id):
            timerFired(id)
        }
    }

    func validate(field: String, value: String) throws {
        switch field {
        case "status":
            guard workflow.statuses.contains(value) else {
                throw Rejection(.unknownStatus, "unknown status '\(value)'; expected one of \(workflow.statuses.joined(separator: ", "))")
            }
            guard workflow.allows(from: ticket.status, to: value) else {
                throw Rejection(.transitionNotAllowed, "status \(ticket.status) → \(value) is not allowed by workflow \(workflow.label)")
            }
        case "priority":
            guard Priority(rawValue: value) != nil else {
                throw Rejection(.invalidField, "unknown priority '\(value)'; expected one of low, normal, high, urgent")
            }
        case "subject":
            guard !value.isEmpty else { throw Rejection(.invalidField, "subject must not be empty") }
        case "description", "type":
            break
        default:
            guard field.hasPrefix("fields."), field.count > 7 else {
                throw Rejection(.unknownField, "field '\(field)' cannot be set; expected one of status, priority, subject, description, type, fields.<name>")
            }
        }
    }

    mutating func set(field: String, to value: String, cause: Cause) throws {
        try validate(field: field, value: value)
        if field == "status" {
            if ticket.status != value { emit(.statusChanged(from: ticket.status, to: value), cause) }
            return
        }
        let old = ticket.values(of: field, workflow: workflow).first
        if old != value { emit(.fieldChanged(field: field, from: old, to: value), cause) }
    }

    mutating func addComment(author: AuthorKind, name: String, isPublic: Bool, body: String, cause: Cause) {
        let comment = Comment(id: ticket.comments.count + 1, author: author, authorName: name, isPublic: isPublic, body: body, at: now)
        emit(.commented(comment), cause)
        if isPublic, author != .system { self.comment = comment }
    }

    mutating func changeLine(_ target: LineTarget, escalating: Bool, cause: Cause, strict: Bool) throws {
        let current = ticket.line
        let to: Int?
        switch target {
        case .next: to = current + 1 < workflow.lines.count ? current + 1 : nil
        case .previous: to = current > 0 ? current - 1 : nil
        case .named(let name):
            guard let index = workflow.lineIndex(named: name) else {
                throw Rejection(.unknownLine, "no line named '\(name)'; expected one of \(workflow.lines.map(\.name).joined(separator: ", "))")
            }
            to = index
        }
        guard let to, to != current else {
            let message = "ticket is already on line \(workflow.lines[current].name); nothing to \(escalating ? "escalate" : "de-escalate") to"
            if strict { throw Rejection(.noLine, message) }
            emit(.note(message), cause)
            return
        }
        emit(.lineChanged(from: current, to: to, queue: workflow.lines[to].queue), cause)
        if ticket.assignee != nil { emit(.assigned(agent: nil), cause) }
        raised.insert(to > current ? .escalated : .deescalated)
    }

    // MARK: Actions

    /// Runs one rule action. `strict` actions (asked for by a person) reject on error;
    /// a rule's action that cannot apply leaves an audit note instead.
    mutating func perform(_ action: Action, cause: Cause, strict: Bool, depth: Int) throws {
        do {
            switch action {
            case let .set(field, value):
                try set(field: field, to: value, cause: cause)
            case .addTags(let tags):
                let merged = Array(Set(ticket.tags).union(tags)).sorted()
                if merged != ticket.tags { emit(.fieldChanged(field: "tags", from: ticket.tags.joined(separator: ","), to: merged.joined(separator: ",")), cause) }
            case .removeTags(let tags):
                let kept = ticket.tags.filter { !tags.contains($0) }
                if kept != ticket.tags { emit(.fieldChanged(field: "tags", from: ticket.tags.joined(separator: ","), to: kept.joined(separator: ",")), cause) }
            case .assignQueue(let queue):
                guard workflow.queues[queue] != nil else { throw Rejection(.unknownQueue, "no queue named '\(queue)'") }
                if ticket.queue != queue {
                    emit(.queued(queue: queue), cause)
                    if ticket.assignee != nil { emit(.assigned(agent: nil), cause) }
                }
            case .assignAgent(let agent):
                if ticket.assignee != agent { emit(.assigned(agent: agent), cause) }
            case .escalate(let target):
                try changeLine(target, escalating: true, cause: cause, strict: strict)
            case .deescalate(let target):
                try changeLine(target, escalating: false, cause: cause, strict: strict)
            case let .comment(isPublic, body):
                let text = isPublic ? body.renderForRequester(ticket, workflow: workflow) : body.render(ticket, workflow: workflow)
                if let agent = actingAgent {
                    addComment(author: .agent, name: agent, isPublic: isPublic, body: text, cause: cause)
                    raised.insert(.commented)
                } else {
                    addComment(author: .system, name: cause.name, isPublic: isPublic, body: text, cause: cause)
                }
            case .macro(let name):
                guard depth < 5, let macro = workflow.macros[name] else {
                    throw Rejection(.unknownMacro, depth >= 5 ? "macros nested too deeply at '\(name)'" : "no macro named '\(name)'")
                }
                for inner in macro.actions { try perform(inner, cause: cause, strict: strict, depth: depth + 1) }
            case let .notify(recipient, templateName):
                let template = workflow.templates[templateName]
                let body = (recipient == "requester" ? template?.renderForRequester(ticket, workflow: workflow)
                                                     : template?.render(ticket, workflow: workflow)) ?? ""
                let address: String
                switch recipient {
                case "requester": address = ticket.requester.email
                case "assignee":
                    // Nobody to tell: the audit says so, rather than a message to "unassigned".
                    guard let assignee = ticket.assignee else {
                        emit(.note("\(cause): notify assignee skipped: the ticket has no assignee"), cause)
                        return
                    }
                    address = assignee
                default: address = recipient
                }
                let notification = Notification(id: "\(ticket.id)/\(ticket.version + 1)", recipient: address, template: templateName, body: body)
                emit(.notified(notification), cause)
            case let .followUp(after, note):
                let id = "followup/\(now.millis)/\(ticket.version + 1)"
                emit(.timerSet(id: id, entry: TimerEntry(due: now + after, purpose: .followUp(note: note))), cause)
            }
        } catch let rejection as Rejection where !strict {
            emit(.note("\(cause): action skipped: \(rejection.message)"), cause)
        }
    }

    /// Performs a rule's action (a trigger's, an SLA target's, an automation's): one that
    /// cannot apply is skipped with an audit note and the rule's other actions go on. `perform`
    /// throws only `Rejection`s, and none when not strict, so nothing is dropped here.
    mutating func performForRule(_ action: Action, cause: Cause) {
        do { try perform(action, cause: cause, strict: false, depth: 0) } catch {
            assertionFailure("a rule's action threw \(error), which non-strict perform records as a note")
            emit(.note("\(cause): action skipped: \(error)"), cause)
        }
    }

    // MARK: Triggers

    /// Runs triggers in their written order. After each firing the scan restarts from the
    /// top, so later triggers see earlier changes; each trigger fires at most once per chain
    /// and the chain stops, with an audit note, at the workflow's loop cap.
    mutating func runTriggers() {
        var fired: Set<String> = []
        var firings = 0
        var restart = true
        while restart {
            restart = false
            for trigger in workflow.triggers where !fired.contains(trigger.name) && !trigger.on.isDisjoint(with: raised) {
                guard trigger.condition?.evaluate(ctx) ?? true else { continue }
                if firings >= workflow.triggerLoopCap {
                    emit(.note("trigger loop cap (\(workflow.triggerLoopCap)) reached before '\(trigger.name)'; remaining triggers skipped"), .system)
                    return
                }
                fired.insert(trigger.name)
                firings += 1
                for action in trigger.actions {
                    performForRule(action, cause: Cause(.trigger, trigger.name))
                }
                restart = true
                break
            }
        }
    }

    // MARK: Timers

    mutating func timerFired(_ id: String) {
        guard let entry = ticket.timers[id], entry.due <= now else { return }  // already fired or re-armed: no-op
        emit(.timerFired(id: id, lateBy: now - entry.due), .system)
        switch entry.purpose {
        case .slaWarning(let key):
            guard let clock = ticket.slaClocks[key], clock.isRunning, !clock.warned, let target = target(forClock: key)?.target else { return }
            let cause = Cause(.sla, key)
            emit(.slaWarned(key: key), cause)
            raised.insert(.slaWarning)
            for action in target.onWarning { performForRule(action, cause: cause) }
        case .slaBreach(let key):
            guard let clock = ticket.slaClocks[key], clock.isRunning, !clock.isBreached,
                  let due = clock.due, due <= now, let (target, planned) = target(forClock: key) else { return }
            let cause = Cause(.sla, key)
            let cal = calendar(of: clock, planned: planned)
            // A warning due at the breach instant (warn_at: 0m, 100%) comes first, whichever of
            // the two timers the node fires first; its own timer then finds it done.
            if let warn = clock.warningDue(target.warnAt, calendar: cal), warn <= now {
                emit(.slaWarned(key: key), cause)
                raised.insert(.slaWarning)
                for action in target.onWarning { performForRule(action, cause: cause) }
            }
            emit(.slaBreached(key: key), cause)
            raised.insert(.slaBreach)
            for action in target.onBreach { performForRule(action, cause: cause) }
        case let .slaEscalation(key, level):
            guard let clock = ticket.slaClocks[key], !clock.isStopped, clock.escalationLevel < level,
                  let target = target(forClock: key)?.target, target.escalations.indices.contains(level - 1) else { return }
            let cause = Cause(.sla, "\(key)#\(level)")
            emit(.slaEscalated(key: key, level: level), cause)
            raised.insert(.slaBreach)
            for action in target.escalations[level - 1].actions { performForRule(action, cause: cause) }
        case .automation(let name):
            guard let automation = workflow.automations.first(where: { $0.name == name }),
                  !ticket.firedAutomations.contains(name),
                  automation.condition.evaluate(ctx) else { return }   // no changes nor comment yet: a timer leads its chain
            let cause = Cause(.automation, name)
            emit(.automationFired(name: name), cause)
            raised.insert(.updated)
            for action in automation.actions { performForRule(action, cause: cause) }
        case .followUp(let note):
            emit(.followUpDue(note: note), .system)
            raised.insert(.followUp)
        }
    }

    /// The workflow's target for the clock with this key (nil if its policy is gone), and its plan.
    func target(forClock key: String) -> (target: SLATarget, plan: EnginePlan.Clock)? {
        guard let planned = plan.clockByKey[key] else { return nil }
        return (workflow.slaPolicies[planned.policy].targets[planned.target], planned)
    }
}
