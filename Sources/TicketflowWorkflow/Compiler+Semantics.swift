import TicketflowCore

extension Compiler {
    /// Whole-workflow checks that need every section. Each finding is certain (see
    /// `ValueDomains`): statuses nothing reaches, rules that can never fire, actions that can
    /// never succeed, policies another always takes first, triggers that re-enable each other,
    /// escalation ladders that climb nowhere, and triggers that fight over a field.
    mutating func checkSemantics(_ workflow: Workflow, top: [String: Syntax.Entry]) {
        let domains = ValueDomains(workflow)
        let statusPosition = top["statuses"]?.value.position ?? top["transitions"]?.value.position
        let unreachable = unreachableStatuses(workflow)
        if workflow.transitions != nil, let at = statusPosition {
            for status in workflow.statuses where unreachable.contains(status) {
                warning(at, "no transition reaches status '\(status)'", rule: "unreachable-status")
            }
        }
        let neverRaised = neverRaisedEvents(workflow)
        for trigger in workflow.triggers {
            let at = position(of: "trigger", trigger.name)
            checkReachable("trigger \(trigger.name)", trigger.condition, domains: domains, unreachable: unreachable, at: at)
            let silent = trigger.on.filter { neverRaised[$0] != nil }.sorted { $0.rawValue < $1.rawValue }
            if !trigger.on.isEmpty, silent.count == trigger.on.count {
                warning(at, "trigger \(trigger.name) can never fire: this workflow never raises \(silent.map { "\($0.rawValue) (\(neverRaised[$0]!))" }.joined(separator: ", "))",
                        rule: "unreachable-rule")
            } else {
                for event in silent {
                    warning(at, "trigger \(trigger.name) listens to \(event.rawValue), which this workflow never raises (\(neverRaised[event]!))", rule: "unproduced-event")
                }
            }
            checkActions("trigger \(trigger.name)", trigger.actions, condition: trigger.condition, workflow: workflow, domains: domains, at: at)
        }
        for automation in workflow.automations {
            let at = position(of: "automation", automation.name)
            checkReachable("automation \(automation.name)", automation.condition, domains: domains, unreachable: unreachable, at: at)
            checkActions("automation \(automation.name)", automation.actions, condition: automation.condition, workflow: workflow, domains: domains, at: at)
        }
        checkPolicies(workflow, domains: domains)
        checkConflictingTriggers(workflow)
        checkTriggerCycles(workflow, domains: domains)
    }

    func unreachableStatuses(_ workflow: Workflow) -> Set<String> {
        guard let transitions = workflow.transitions else { return [] }
        let reached = transitions.values.reduce(into: Set([workflow.initialStatus])) { $0.formUnion($1) }
        return Set(workflow.statuses).subtracting(reached)
    }

    /// The trigger events this workflow can never raise, each with the reason.
    func neverRaisedEvents(_ workflow: Workflow) -> [TriggerEvent: String] {
        let every = workflow.triggers.flatMap(\.actions) + workflow.automations.flatMap(\.actions) + workflow.macros.values.flatMap(\.actions)
            + workflow.slaPolicies.flatMap { $0.targets.flatMap { $0.onWarning + $0.onBreach + $0.escalations.flatMap(\.actions) } }
        var never: [TriggerEvent: String] = [:]
        if workflow.lines.count < 2 {
            never[.escalated] = "it has one line"
            never[.deescalated] = "it has one line"
        }
        let targets = workflow.slaPolicies.flatMap(\.targets)
        if targets.isEmpty { never[.slaBreach] = "it has no SLA targets" }
        if !targets.contains(where: { $0.warnAt != nil }) { never[.slaWarning] = "no SLA target has warn_at" }
        if !every.contains(where: { if case .followUp = $0 { return true } else { return false } }) {
            never[.followUp] = "no rule or macro sets a follow_up"
        }
        return never
    }

    /// A rule whose condition no ticket can meet.
    mutating func checkReachable(_ rule: String, _ condition: Condition?, domains: ValueDomains, unreachable: Set<String>, at: SourcePosition) {
        if let field = domains.impossibleField(in: condition) {
            warning(at, "\(rule) can never fire: no \(field) satisfies its condition (it requires values that exclude each other)", rule: "unreachable-rule")
        } else if let statuses = domains.admitted("status", by: condition), !statuses.isEmpty, statuses.isSubset(of: unreachable) {
            warning(at, "\(rule) can never fire: it needs status \(statuses.sorted().joined(separator: " or ")), which no transition reaches", rule: "unreachable-rule")
        }
    }

    /// Actions that fail whenever the rule can fire: a status the transitions forbid from every
    /// status the condition admits, a line change with no line to go to.
    mutating func checkActions(_ rule: String, _ actions: [Action], condition: Condition?, workflow: Workflow, domains: ValueDomains, at: SourcePosition) {
        let from = domains.admitted("status", by: condition) ?? Set(workflow.statuses)
        for action in expand(actions, macros: workflow.macros) {
            switch action {
            case let .set("status", to) where workflow.transitions != nil && !from.isEmpty:
                if !from.contains(where: { workflow.allows(from: $0, to: to) }) {
                    warning(at, "\(rule) sets status \(to), which no status its condition admits (\(from.sorted().joined(separator: ", "))) may move to; the action is always skipped",
                            rule: "impossible-action")
                }
            case .escalate(.next), .deescalate(.previous):
                if workflow.lines.count < 2 {
                    warning(at, "\(rule) changes the line, but the workflow has one line; the action is always skipped", rule: "impossible-action")
                }
            default:
                break
            }
        }
    }

    /// A rule's actions with the macros it applies spelled out (to the engine's depth).
    func expand(_ actions: [Action], macros: [String: Macro], depth: Int = 0) -> [Action] {
        actions.flatMap { action -> [Action] in
            guard case .macro(let name) = action, depth < 5, let macro = macros[name] else { return [action] }
            return expand(macro.actions, macros: macros, depth: depth + 1)
        }
    }

    /// SLA policies that never apply, that an earlier policy of their group always takes
    /// first, and escalation ladders that climb beyond the last line or down.
    mutating func checkPolicies(_ workflow: Workflow, domains: ValueDomains) {
        for (index, policy) in workflow.slaPolicies.enumerated() {
            let at = position(of: "sla", policy.name)
            if let field = domains.impossibleField(in: policy.when) {
                warning(at, "SLA policy \(policy.name) never applies: no \(field) satisfies its 'when'", rule: "unreachable-rule")
            }
            if let earlier = workflow.slaPolicies[..<index].first(where: { $0.group == policy.group && domains.covers($0.when, policy.when) }) {
                warning(at, "SLA policy \(policy.name) is shadowed by \(earlier.name): within group '\(policy.group)' the first matching policy applies, and \(earlier.name) matches every ticket \(policy.name) would",
                        rule: "shadowed-policy")
            }
            let start = domains.admitted("line", by: policy.when).flatMap { names in workflow.lines.firstIndex { names.contains($0.name) } } ?? 0
            for target in policy.targets {
                checkLadder(policy.name, target, startingOn: start, workflow: workflow, at: at)
            }
        }
    }

    /// Walks a target's breach actions and escalation levels from the lowest line the policy
    /// applies on, and warns where a step cannot go up.
    mutating func checkLadder(_ policy: String, _ target: SLATarget, startingOn start: Int, workflow: Workflow, at: SourcePosition) {
        var line = start
        let steps = [("on_breach", target.onBreach)] + target.escalations.enumerated().map { ("escalation level \($0.offset + 1) (after \($0.element.after))", $0.element.actions) }
        for (step, actions) in steps {
            for action in expand(actions, macros: workflow.macros) {
                switch action {
                case .escalate(.next):
                    guard line + 1 < workflow.lines.count else {
                        warning(at, "SLA policy \(policy) \(target.metric.rawValue): \(step) escalates beyond the last line \(workflow.lines[line].name)",
                                rule: "escalation-ladder")
                        continue
                    }
                    line += 1
                case .escalate(.named(let name)):
                    guard let to = workflow.lineIndex(named: name) else { continue }
                    if to <= line {
                        warning(at, "SLA policy \(policy) \(target.metric.rawValue): \(step) escalates to \(name), which is not above \(workflow.lines[line].name) where the steps before it put the ticket",
                                rule: "escalation-ladder")
                    }
                    line = max(line, to)
                default:
                    break
                }
            }
        }
    }

    /// Two triggers on the same event setting one field to different values, neither testing it.
    mutating func checkConflictingTriggers(_ workflow: Workflow) {
        for (index, trigger) in workflow.triggers.enumerated() {
            for other in workflow.triggers[(index + 1)...] where !trigger.on.isDisjoint(with: other.on) {
                for case let .set(field, value) in trigger.actions {
                    for case let .set(otherField, otherValue) in other.actions where otherField == field && otherValue != value {
                        let guarded = (trigger.condition?.testedFields.contains(field) ?? false) || (other.condition?.testedFields.contains(field) ?? false)
                        if !guarded {
                            warning(position(of: "trigger", trigger.name), "triggers \(trigger.name) and \(other.name) set \(field) to '\(value)' and '\(otherValue)' on the same event; the later one wins",
                                    rule: "conflicting-triggers")
                        }
                    }
                }
            }
        }
    }

    mutating func checkMacroCycles(_ macros: [String: Macro], at: SourcePosition?) {
        func calls(_ name: String) -> [String] {
            macros[name]?.actions.compactMap { if case .macro(let m) = $0 { return m } else { return nil } } ?? []
        }
        for start in macros.keys.sorted() {
            var stack = calls(start)
            var seen: Set<String> = []
            while let next = stack.popLast() {
                if next == start {
                    error(rulePositions["macro/\(start)"] ?? at ?? SourcePosition(file: "", line: 1, column: 1), "macro \(start) applies itself (directly or through other macros)", rule: "macro-cycle")
                    break
                }
                if seen.insert(next).inserted { stack += calls(next) }
            }
        }
    }
}
