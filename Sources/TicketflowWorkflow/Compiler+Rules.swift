import TicketflowCore

extension Compiler {
    // MARK: SLA

    mutating func compileSLA(_ node: Syntax) -> [SLAPolicy] {
        guard let items = list(node, context: "sla") else { return [] }
        var seen: Set<String> = []
        var policies: [SLAPolicy] = []
        let keys = ["name", "group", "when", "calendar", "pause_when", "warn_at", "targets", "on_warning", "on_breach", "escalations"]
        for item in items {
            guard let e = entries(item, allowed: keys, context: "an SLA policy"),
                  let name = require(e, "name", in: item, context: "an SLA policy").flatMap({ string($0, context: "policy name") }) else { continue }
            unique(name, &seen, at: item.position, what: "SLA policy")
            noteRule("sla", name, at: item.position)
            let context = "SLA policy \(name)"
            let group = e["group"].flatMap { string($0.value, context: "group") } ?? "sla"
            let when = e["when"].flatMap { condition($0.value, allowChanges: false, allowTime: false) }
            // Policy-level settings are defaults for each target.
            let defaults = targetSettings(e, context: context)
            var targets: [SLATarget] = []
            if let t = require(e, "targets", in: item, context: context) {
                if case .map(let metrics, _) = t {
                    for m in metrics {
                        guard let metric = SLAMetric(rawValue: m.key) else {
                            error(m.keyPosition, "unknown SLA clock '\(m.key)'; expected one of \(SLAMetric.allCases.map(\.rawValue).joined(separator: ", "))", rule: "unknown-key")
                            continue
                        }
                        if let target = slaTarget(metric, m.value, defaults: defaults, context: "\(context) \(m.key)") { targets.append(target) }
                    }
                } else {
                    error(t.position, "targets must be a mapping such as {first_reply: 30m, resolution: 4h}", rule: "type")
                }
            }
            policies.append(SLAPolicy(name: name, group: group, when: when, targets: targets))
        }
        return policies
    }

    struct TargetSettings {
        var calendar = BusinessCalendar.alwaysOpen.name
        var pauseWhen: Condition?
        var warnAt: WarnThreshold?
        var onWarning: [Action] = []
        var onBreach: [Action] = []
        var escalations: [EscalationLevel] = []
    }

    mutating func targetSettings(_ e: [String: Syntax.Entry], context: String, defaults: TargetSettings = TargetSettings()) -> TargetSettings {
        var s = defaults
        if let c = e["calendar"], let name = string(c.value, context: "calendar") {
            if calendarNames.contains(name) { s.calendar = name } else {
                error(c.value.position, "unknown calendar '\(name)'; expected one of \(calendarNames.sorted().joined(separator: ", "))", rule: "unknown-calendar")
            }
        }
        if let p = e["pause_when"] { s.pauseWhen = condition(p.value, allowChanges: false, allowTime: false) }
        if let w = e["warn_at"] { s.warnAt = warnThreshold(w.value) }
        if let a = e["on_warning"] { s.onWarning = actions(a.value, context: "on_warning") }
        if let a = e["on_breach"] { s.onBreach = actions(a.value, context: "on_breach") }
        if let a = e["escalations"], let levels = list(a.value, context: "escalations") {
            s.escalations = []
            for level in levels {
                guard let le = entries(level, allowed: ["after", "then"], context: "an escalation level"),
                      let after = require(le, "after", in: level, context: "an escalation level").flatMap({ span($0, context: "after") }),
                      let then = require(le, "then", in: level, context: "an escalation level") else { continue }
                if let previous = s.escalations.last, previous.after >= after {
                    error(level.position, "escalation levels must come in increasing 'after' order", rule: "sla")
                }
                s.escalations.append(EscalationLevel(after: after, actions: actions(then, context: "then")))
            }
        }
        return s
    }

    mutating func slaTarget(_ metric: SLAMetric, _ node: Syntax, defaults: TargetSettings, context: String) -> SLATarget? {
        if node.scalar != nil {
            guard let target = span(node, context: context) else { return nil }
            checkWarning(defaults.warnAt, target: target, at: node.position)
            return SLATarget(metric: metric, target: target, calendar: defaults.calendar, pauseWhen: defaults.pauseWhen,
                             warnAt: defaults.warnAt, onWarning: defaults.onWarning, onBreach: defaults.onBreach, escalations: defaults.escalations)
        }
        let keys = ["target", "calendar", "pause_when", "warn_at", "on_warning", "on_breach", "escalations"]
        guard let e = entries(node, allowed: keys, context: context),
              let target = require(e, "target", in: node, context: context).flatMap({ span($0, context: "target") }) else { return nil }
        let s = targetSettings(e, context: context, defaults: defaults)
        checkWarning(s.warnAt, target: target, at: (e["warn_at"] ?? e["target"])?.value.position ?? node.position)
        return SLATarget(metric: metric, target: target, calendar: s.calendar, pauseWhen: s.pauseWhen, warnAt: s.warnAt,
                         onWarning: s.onWarning, onBreach: s.onBreach, escalations: s.escalations)
    }

    /// A warning more than the whole target before the due instant would fall before the clock
    /// starts: it fires at the start, which is rarely what was meant.
    mutating func checkWarning(_ threshold: WarnThreshold?, target: TimeSpan, at position: SourcePosition) {
        guard case .before(let span) = threshold, span > target else { return }
        warning(position, "warn_at \(span) before the due instant is longer than the target \(target): the warning fires when the clock starts",
                rule: "sla-warning-at-start")
    }

    mutating func warnThreshold(_ node: Syntax) -> WarnThreshold? {
        guard let text = string(node, context: "warn_at") else { return nil }
        if text.hasSuffix("%") {
            guard let p = Int(text.dropLast()), (0...100).contains(p) else {
                error(node.position, "warn_at '\(text)' must be a percentage from 0% (the clock's start) to 100% (its due instant)", rule: "sla")
                return nil
            }
            return .percent(p)
        }
        let spanText = text.hasSuffix(" before") ? String(text.dropLast(7)) : text
        guard let s = TimeSpan(parsing: spanText) else {
            error(node.position, "warn_at '\(text)' must be a percentage (75%) or a time before the due instant (15m)", rule: "sla")
            return nil
        }
        return .before(s)
    }

    // MARK: Triggers, automations, macros

    mutating func compileTriggers(_ node: Syntax) -> [Trigger] {
        guard let items = list(node, context: "triggers") else { return [] }
        var seen: Set<String> = []
        var result: [Trigger] = []
        for item in items {
            guard let e = entries(item, allowed: ["name", "on", "if", "then"], context: "a trigger"),
                  let name = require(e, "name", in: item, context: "a trigger").flatMap({ string($0, context: "trigger name") }) else { continue }
            unique(name, &seen, at: item.position, what: "trigger")
            noteRule("trigger", name, at: item.position)
            var on: Set<TriggerEvent> = []
            if let o = require(e, "on", in: item, context: "trigger \(name)"), let names = strings(o, context: "on") {
                for n in names {
                    if let ev = TriggerEvent(rawValue: n) { on.insert(ev) } else {
                        error(o.position, "unknown event '\(n)'; expected one of \(TriggerEvent.allCases.map(\.rawValue).joined(separator: ", "))", rule: "unknown-event")
                    }
                }
            }
            let cond = e["if"].flatMap { condition($0.value, allowChanges: true, allowTime: false) }
            let acts = require(e, "then", in: item, context: "trigger \(name)").map { actions($0, context: "then") } ?? []
            result.append(Trigger(name: name, on: on, condition: cond, actions: acts))
        }
        return result
    }

    mutating func compileAutomations(_ node: Syntax) -> [Automation] {
        guard let items = list(node, context: "automations") else { return [] }
        var seen: Set<String> = []
        var result: [Automation] = []
        for item in items {
            guard let e = entries(item, allowed: ["name", "if", "then"], context: "an automation"),
                  let name = require(e, "name", in: item, context: "an automation").flatMap({ string($0, context: "automation name") }),
                  let ifNode = require(e, "if", in: item, context: "automation \(name)"),
                  let cond = condition(ifNode, allowChanges: false, allowTime: true) else { continue }
            unique(name, &seen, at: item.position, what: "automation")
            noteRule("automation", name, at: item.position)
            let acts = require(e, "then", in: item, context: "automation \(name)").map { actions($0, context: "then") } ?? []
            if !cond.isTimeBased {
                error(ifNode.position, "automation \(name) has no time condition (since/before); use a trigger for rules that react to events", rule: "automation-time")
            }
            let written = Set(acts.flatMap(\.writtenFields))
            let tested = cond.testedFields
            let nullifies = !written.isDisjoint(with: tested) || (tested.contains("updated") && !written.isEmpty)
            if !nullifies {
                let what = tested.isEmpty ? "its condition tests only the time since creation, which no action can undo"
                    : "no action changes a field its condition tests (\(tested.sorted().joined(separator: ", ")))"
                error(item.position, "automation \(name) never nullifies its condition: \(what), so nothing stops it from firing again at every re-arming", rule: "automation-nullify")
            }
            result.append(Automation(name: name, condition: cond, actions: acts))
        }
        return result
    }

    mutating func compileMacros(_ node: Syntax) -> [String: Macro] {
        guard let items = list(node, context: "macros") else { return [:] }
        var result: [String: Macro] = [:]
        var seen: Set<String> = []
        for item in items {
            guard let e = entries(item, allowed: ["name", "then"], context: "a macro"),
                  let name = require(e, "name", in: item, context: "a macro").flatMap({ string($0, context: "macro name") }) else { continue }
            unique(name, &seen, at: item.position, what: "macro")
            noteRule("macro", name, at: item.position)
            let acts = require(e, "then", in: item, context: "macro \(name)").map { actions($0, context: "then") } ?? []
            result[name] = Macro(name: name, actions: acts)
        }
        return result
    }
}
