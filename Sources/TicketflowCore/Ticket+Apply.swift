extension Ticket {
    /// Folds one event into the ticket. Total: never fails, never has side effects,
    /// so replaying a journal always rebuilds the same state.
    public mutating func apply(_ event: Event) {
        version += 1
        workflowVersion = event.workflowVersion
        switch event.change {
        case .created(let ticket):
            self = ticket
            version = 1
        case let .fieldChanged(field, _, to):
            switch field {
            case "subject": subject = to ?? ""
            case "description": description = to ?? ""
            case "priority": priority = to.flatMap(Priority.init(rawValue:)) ?? priority
            case "type": type = to
            case "tags": tags = (to ?? "").split(separator: ",").map(String.init)
            default:
                if field.hasPrefix("fields.") { fields[String(field.dropFirst(7))] = to }
            }
            updatedAt = event.at
        case let .statusChanged(_, to):
            status = to
            enteredStatusAt[to] = event.at
            updatedAt = event.at
        case .commented(let comment):
            comments.append(comment)
            updatedAt = event.at
        case let .lineChanged(_, to, queue):
            line = to
            self.queue = queue
            updatedAt = event.at
        case .queued(let queue):
            self.queue = queue
            updatedAt = event.at
        case .assigned(let agent):
            assignee = agent
            updatedAt = event.at
        case let .slaClockSet(key, clock):
            slaClocks[key] = clock
        case .slaClockRemoved(let key):
            slaClocks[key] = nil
        case .slaWarned(let key):
            slaClocks[key]?.warned = true
        case .slaBreached(let key):
            slaClocks[key]?.breachedAt = event.at
        case let .slaEscalated(key, level):
            slaClocks[key]?.escalationLevel = level
        case let .timerSet(id, entry):
            timers[id] = entry
        case .timerCleared(let id), .timerFired(let id, _):
            timers[id] = nil
        case .automationArmed(let name):
            firedAutomations.remove(name)
        case .automationFired(let name):
            firedAutomations.insert(name)
        case .notified, .followUpDue, .note:
            break
        }
    }

    /// Whether the ticket counts as solved under a workflow.
    public func isSolved(in workflow: Workflow) -> Bool { workflow.solvedStatuses.contains(status) }
}
