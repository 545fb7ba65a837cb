import TicketflowCore

/// Builds a ticket's "why" from its journal and the workflow versions its events name: the
/// journal is folded step by step, and at each step every rule the engine would have looked
/// at is evaluated against the ticket as that rule saw it.
///
/// A step is the events of one instant (a command or a timer and its chain; two commands in
/// the same millisecond show as one step). A trigger that fired is evaluated on the ticket just
/// before its first change; one that did not fire, on the ticket at the end of the chain — the
/// last scan the engine made. SLA policies are shown where the step set or removed a clock.
public enum TicketExplainer {
    public static func explain(_ events: [Event], workflows: [String: Workflow], rule: String? = nil) -> TicketExplanation {
        var ticket: Ticket?
        var steps: [TicketExplanation.Step] = []
        var start = 0
        while start < events.count {
            var end = start + 1
            while end < events.count, events[end].at == events[start].at, !startsStep(events[end], after: events[end - 1]) { end += 1 }
            let group = Array(events[start..<end])
            // The ticket before the step (before a create: the created ticket itself), then after each event.
            var states: [Ticket] = []
            let previous = ticket
            for event in group {
                var next = ticket ?? placeholder(event)
                next.apply(event)
                ticket = next
                states.append(next)
            }
            states.insert(previous ?? states[0], at: 0)
            if let step = explainStep(group, states: states, workflow: workflows[group[0].workflowVersion], rule: rule) { steps.append(step) }
            start = end
        }
        return TicketExplanation(ticket: events.first?.ticket ?? "", steps: steps)
    }

    /// Whether `event` begins a new step in the same instant as `previous`: a create or a timer
    /// always does; a command's event (an agent's, a requester's, the API's) does after what
    /// another cause did — the rules, clocks and timers that close a command's chain.
    static func startsStep(_ event: Event, after previous: Event) -> Bool {
        switch event.change {
        case .created, .timerFired: return true
        default:
            return isCommand(event.cause) && previous.cause != event.cause
        }
    }

    static func isCommand(_ cause: Cause) -> Bool { [.agent, .requester, .api].contains(cause.kind) }

    /// The state a journal that does not begin with its creation is folded into (a damaged
    /// journal still explains what it can).
    static func placeholder(_ event: Event) -> Ticket {
        Ticket(id: event.ticket, subject: "", description: "", requester: Requester(name: "", email: ""), channel: .api,
               priority: .normal, status: "", createdAt: event.at)
    }

    static func explainStep(_ group: [Event], states: [Ticket], workflow: Workflow?, rule: String?) -> TicketExplanation.Step? {
        let first = group[0]
        let raised = raisedEvents(group)
        let happened = group.filter(isShown).filter { ![.trigger, .sla].contains($0.cause.kind) || isSLAFact($0) }.map(\.summary)
        var rules: [TicketExplanation.RuleEvaluation] = []
        if let workflow {
            rules += triggers(group, states: states, raised: raised, workflow: workflow)
            rules += automations(group, states: states, workflow: workflow)
            if group.contains(where: { if case .slaClockSet = $0.change { return true }; if case .slaClockRemoved = $0.change { return true }; return false }) || rule != nil {
                rules += policies(group, states: states, workflow: workflow)
            }
        }
        if let rule {
            rules = rules.filter { $0.name == rule }
            guard !rules.isEmpty else { return nil }
        }
        return TicketExplanation.Step(at: first.at.description, cause: first.cause.description, workflowVersion: first.workflowVersion,
                                      happened: workflow == nil ? happened + ["(workflow \(first.workflowVersion) is not recorded in this data directory: rules not shown)"] : happened,
                                      raised: raised.map(\.rawValue).sorted(), rules: rules)
    }

    /// The audit entries worth reading in a step (timers set and cleared, clock bookkeeping are not).
    static func isShown(_ event: Event) -> Bool {
        switch event.change {
        case .timerSet, .timerCleared, .slaClockSet, .slaClockRemoved, .automationArmed: return false
        default: return true
        }
    }

    static func isSLAFact(_ event: Event) -> Bool {
        switch event.change {
        case .slaWarned, .slaBreached, .slaEscalated: return true
        default: return false
        }
    }

    /// The trigger events a step raised, read from what its command or timer did.
    static func raisedEvents(_ group: [Event]) -> Set<TriggerEvent> {
        var raised: Set<TriggerEvent> = []
        for event in group {
            let byCommand = isCommand(event.cause)
            switch event.change {
            case .created: raised.insert(.created)
            case .commented(let comment) where byCommand || (event.cause.kind == .macro && comment.author == .agent):
                raised.insert(.commented)
            case .fieldChanged, .statusChanged, .assigned, .note:
                if byCommand { raised.insert(.updated) }
            case let .lineChanged(from, to, _) where event.cause.kind != .trigger:
                raised.insert(to > from ? .escalated : .deescalated)
            case .slaWarned: raised.insert(.slaWarning)
            case .slaBreached, .slaEscalated: raised.insert(.slaBreach)
            case .automationFired: raised.insert(.updated)
            case .followUpDue: raised.insert(.followUp)
            default: break
            }
            if event.cause.kind == .macro { raised.insert(.updated) }
        }
        return raised
    }

    /// The context a rule saw just before event `index` of the step (or at its end):
    /// `states[i]` is the ticket before event `i`, `states[group.count]` after the last.
    static func context(_ group: [Event], states: [Ticket], before index: Int, workflow: Workflow) -> EvaluationContext {
        var ctx = EvaluationContext(ticket: states[index], workflow: workflow, now: group[0].at)
        for (i, event) in group[..<index].enumerated() {
            func record(_ field: String, _ from: String?, _ to: String?) {
                guard from != to else { return }
                ctx.changes[field] = (ctx.changes[field]?.from ?? from, to)
            }
            switch event.change {
            case let .fieldChanged(field, from, to): record(field, from, to)
            case let .statusChanged(from, to): record("status", from, to)
            case let .lineChanged(from, to, _):
                record("line", workflow.lines.indices.contains(from) ? workflow.lines[from].name : nil, workflow.lines.indices.contains(to) ? workflow.lines[to].name : nil)
            case .assigned(let agent): record("assignee", states[i].assignee, agent)
            case .queued(let queue): record("queue", states[i].queue, queue)
            case .commented(let comment) where comment.isPublic && comment.author != .system: ctx.comment = comment
            default: break
            }
        }
        return ctx
    }

    static func triggers(_ group: [Event], states: [Ticket], raised: Set<TriggerEvent>, workflow: Workflow) -> [TicketExplanation.RuleEvaluation] {
        workflow.triggers.filter { !$0.on.isDisjoint(with: raised) }.map { trigger in
            let cause = Cause(.trigger, trigger.name)
            let did = group.filter { $0.cause == cause }.map(\.summary)
            if let index = group.firstIndex(where: { $0.cause == cause }) {
                let trace = trigger.condition?.explain(context(group, states: states, before: index, workflow: workflow))
                return .init(kind: .trigger, name: trigger.name, outcome: .fired, condition: trace, did: did)
            }
            let trace = trigger.condition?.explain(context(group, states: states, before: group.count, workflow: workflow))
            return .init(kind: .trigger, name: trigger.name, outcome: (trace?.held ?? true) ? .heldNotFired : .notFired, condition: trace)
        }
    }

    static func automations(_ group: [Event], states: [Ticket], workflow: Workflow) -> [TicketExplanation.RuleEvaluation] {
        var out: [TicketExplanation.RuleEvaluation] = []
        for (index, event) in group.enumerated() {
            guard case .timerFired(let id, _) = event.change, id.hasPrefix("auto/"),
                  let automation = workflow.automations.first(where: { "auto/\($0.name)" == id }) else { continue }
            let cause = Cause(.automation, automation.name)
            let fired = group.contains { if case .automationFired(automation.name) = $0.change { return true } else { return false } }
            let trace = automation.condition.explain(context(group, states: states, before: index + 1, workflow: workflow))
            out.append(.init(kind: .automation, name: automation.name, outcome: fired ? .fired : .notFired, condition: trace,
                             did: group.filter { $0.cause == cause }.map(\.summary)))
        }
        return out
    }

    static func policies(_ group: [Event], states: [Ticket], workflow: Workflow) -> [TicketExplanation.RuleEvaluation] {
        let ctx = context(group, states: states, before: group.count, workflow: workflow)
        var chosenGroups: Set<String> = []
        return workflow.slaPolicies.map { policy in
            let trace = policy.when?.explain(EvaluationContext(ticket: ctx.ticket, workflow: workflow, now: ctx.now))
            let holds = trace?.held ?? true
            let outcome: TicketExplanation.RuleEvaluation.Outcome
            if !holds { outcome = .doesNotApply } else if chosenGroups.insert(policy.group).inserted { outcome = .applies } else { outcome = .shadowed }
            return .init(kind: .slaPolicy, name: policy.name, outcome: outcome, condition: trace)
        }
    }
}
