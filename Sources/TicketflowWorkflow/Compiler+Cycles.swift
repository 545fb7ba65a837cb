import TicketflowCore

extension Compiler {
    /// Triggers that set each other off: one's actions make the next one's condition true, and
    /// round again to the first. Each trigger fires at most once per chain and the chain stops at
    /// the loop cap, so nothing runs forever, but the outcome is the last firing's changes —
    /// rarely what the designer meant. Reported once per cycle with its path, as a warning.
    mutating func checkTriggerCycles(_ workflow: Workflow, domains: ValueDomains) {
        let triggers = workflow.triggers
        let edges: [[Int]] = triggers.indices.map { from in
            triggers.indices.filter { to in
                to != from && canShareChain(triggers[from], triggers[to]) && enables(expand(triggers[from].actions, macros: workflow.macros), triggers[to].condition, domains: domains)
            }
        }
        var reported: Set<[Int]> = []
        // Elementary cycles can be exponentially many: the search stops after this many steps
        // (far beyond any real workflow's), so a hostile file cannot stall the checker.
        var steps = 0
        for start in triggers.indices {
            // Depth-first from `start` through later-indexed triggers only: each elementary
            // cycle is found once, from its lowest index.
            var path = [start]
            var pending: [[Int]] = [edges[start].filter { $0 >= start }]
            while let last = pending.last, reported.count < 10, steps < 200_000 {
                steps += 1
                guard let next = last.first else {
                    pending.removeLast()
                    path.removeLast()
                    continue
                }
                pending[pending.count - 1].removeFirst()
                if next == start {
                    if reported.insert(path).inserted {
                        let names = (path + [start]).map { triggers[$0].name }
                        warning(position(of: "trigger", triggers[start].name),
                                "triggers \(names.joined(separator: " → ")) set each other off: each one's actions make the next one's condition true; "
                                + "each fires once per chain (at most \(workflow.triggerLoopCap) firings), so the last one's changes stand",
                                rule: "trigger-cycle")
                    }
                } else if next > start, !path.contains(next) {
                    path.append(next)
                    pending.append(edges[next].filter { $0 >= start })
                }
            }
        }
    }

    /// Whether `b` can fire in a chain where `a` has fired: they listen to a common event, or
    /// `a` raises one `b` listens to.
    func canShareChain(_ a: Trigger, _ b: Trigger) -> Bool {
        var events = a.on
        for action in a.actions {
            if case .escalate = action { events.insert(.escalated) }
            if case .deescalate = action { events.insert(.deescalated) }
        }
        return !events.isDisjoint(with: b.on)
    }

    /// Whether the actions change a field the condition tests, to a value it admits.
    func enables(_ actions: [Action], _ condition: Condition?, domains: ValueDomains) -> Bool {
        guard let condition else { return false }
        let tested = condition.testedFields
        for action in actions {
            switch action {
            case let .set(field, value) where tested.contains(field):
                if domains.admitted(field, by: condition)?.contains(value) ?? true { return true }
            case let .assignQueue(queue):
                if tested.contains("assignee") || (tested.contains("queue") && domains.admitted("queue", by: condition)?.contains(queue) ?? true) { return true }
            default:
                if !Set(action.writtenFields).isDisjoint(with: tested) { return true }
            }
        }
        return false
    }
}
