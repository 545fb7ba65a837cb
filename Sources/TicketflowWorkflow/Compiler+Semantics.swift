import TicketflowCore

extension Compiler {
    /// Whole-workflow checks that need every section: warnings about statuses nothing
    /// reaches, rules that can never fire, and triggers that fight over a field.
    mutating func checkSemantics(_ workflow: Workflow, top: [String: Syntax.Entry]) {
        let statusPosition = top["statuses"]?.value.position ?? top["transitions"]?.value.position
        if let transitions = workflow.transitions, let at = statusPosition {
            let reached = transitions.values.reduce(into: Set([workflow.initialStatus])) { $0.formUnion($1) }
            for status in workflow.statuses where !reached.contains(status) {
                warning(at, "no transition reaches status '\(status)'", rule: "unreachable-status")
            }
        }
        let triggerNodes = top["triggers"].flatMap { entry -> [Syntax]? in if case .list(let l, _) = entry.value { return l } else { return nil } } ?? []
        for (index, trigger) in workflow.triggers.enumerated() {
            let at = triggerNodes.indices.contains(index) ? triggerNodes[index].position : SourcePosition(file: "", line: 1, column: 1)
            if let c = trigger.condition, Compiler.contradicts(c) {
                warning(at, "trigger \(trigger.name) can never fire: its conditions require one field to have two different values", rule: "unreachable-rule")
            }
            if let c = trigger.condition, !Compiler.statusesTested(c).isEmpty,
               Compiler.statusesTested(c).isSubset(of: unreachableStatuses(workflow)) {
                warning(at, "trigger \(trigger.name) can never fire: it needs a status no transition reaches", rule: "unreachable-rule")
            }
            for (otherIndex, other) in workflow.triggers.enumerated() where otherIndex > index && !trigger.on.isDisjoint(with: other.on) {
                for case let .set(field, value) in trigger.actions {
                    for case let .set(otherField, otherValue) in other.actions where otherField == field && otherValue != value {
                        let guarded = (trigger.condition?.testedFields.contains(field) ?? false) || (other.condition?.testedFields.contains(field) ?? false)
                        if !guarded {
                            warning(at, "triggers \(trigger.name) and \(other.name) set \(field) to '\(value)' and '\(otherValue)' on the same event; the later one wins", rule: "conflicting-triggers")
                        }
                    }
                }
            }
        }
        checkMacroCycles(workflow, at: top["macros"]?.value.position)
    }

    func unreachableStatuses(_ workflow: Workflow) -> Set<String> {
        guard let transitions = workflow.transitions else { return [] }
        let reached = transitions.values.reduce(into: Set([workflow.initialStatus])) { $0.formUnion($1) }
        return Set(workflow.statuses).subtracting(reached)
    }

    /// Status values an `all` block insists on.
    static func statusesTested(_ c: Condition) -> Set<String> {
        switch c {
        case .test("status", .is, let v): return Set(v)
        case .all(let cs): return cs.reduce(into: Set()) { $0.formUnion(statusesTested($1)) }
        default: return []
        }
    }

    /// True when an `all` block requires `field is a` and `field is b` with a ≠ b.
    static func contradicts(_ c: Condition) -> Bool {
        guard case .all(let parts) = c else { return false }
        var required: [String: String] = [:]
        for part in parts {
            if case let .test(field, .is, values) = part, field != "tags", let v = values.first {
                if let existing = required[field], existing != v { return true }
                required[field] = v
            }
            if contradicts(part) { return true }
        }
        return false
    }

    mutating func checkMacroCycles(_ workflow: Workflow, at: SourcePosition?) {
        func calls(_ name: String) -> [String] {
            workflow.macros[name]?.actions.compactMap { if case .macro(let m) = $0 { return m } else { return nil } } ?? []
        }
        for start in workflow.macros.keys.sorted() {
            var stack = calls(start)
            var seen: Set<String> = []
            while let next = stack.popLast() {
                if next == start {
                    error(at ?? SourcePosition(file: "", line: 1, column: 1), "macro \(start) applies itself (directly or through other macros)", rule: "macro-cycle")
                    break
                }
                if seen.insert(next).inserted { stack += calls(next) }
            }
        }
    }
}
