extension Decider {
    /// After a command and its triggers: bring SLA clocks, their timers and automation
    /// timers in line with the ticket as it now stands. Emits only what differs.
    mutating func settle() {
        // SLA and automation conditions see the ticket as it stands, not the chain that led
        // there (triggers are done): no changes, no comment.
        ctx.changes = [:]
        ctx.comment = nil
        settleSLA()
        settleTimers()
        settleAutomations()
    }

    func calendar(_ name: String) -> BusinessCalendar {
        workflow.calendars[name] ?? .alwaysOpen
    }

    /// A clock's calendar: the plan's (resolved once) unless the clock kept another's name.
    func calendar(of clock: SLAClock, planned: EnginePlan.Clock) -> BusinessCalendar {
        clock.calendar == planned.calendar.name ? planned.calendar : calendar(clock.calendar)
    }

    /// Chooses policies (first match per group), then starts, pauses, resumes, stops and
    /// restarts clocks according to what happened in this chain.
    mutating func settleSLA() {
        var groups: [String] = []
        var chosen: [Int] = []
        for (index, policy) in workflow.slaPolicies.enumerated() where !groups.contains(policy.group) {
            if policy.when?.evaluate(ctx) ?? true {
                groups.append(policy.group)
                chosen.append(index)
            }
        }
        let policies = workflow.slaPolicies
        chosen.sort { policies[$0].name < policies[$1].name }
        let wanted = chosen.flatMap { plan.clocks[$0].map(\.key) }
        if ticket.slaClocks.count > 0 {
            for key in ticket.slaClocks.keys where !wanted.contains(key) {
                emit(.slaClockRemoved(key: key), Cause(.sla, key))
            }
        }
        let solved = ticket.isSolved(in: workflow)
        let wasSolved = workflow.solvedStatuses.contains(statusBefore)
        let agentReplied = comment.map { $0.author == .agent && $0.isPublic } ?? false
        let requesterWrote = comment.map { $0.author == .requester && $0.isPublic } ?? false
        let hasAgentReply = ticket.comments.contains { $0.author == .agent && $0.isPublic }

        for index in chosen {
            let policy = policies[index]
            for (t, target) in policy.targets.enumerated() {
                let key = plan.clocks[index][t].key
                let cal = plan.clocks[index][t].calendar
                let existing = ticket.slaClocks[key]
                var clock = existing ?? newClock(policy: policy, target: target, calendar: cal, hasAgentReply: hasAgentReply)
                guard var updated = clock else { continue }
                switch target.metric {
                case .firstReply:
                    if agentReplied, !updated.isStopped { updated.stop(at: now, calendar: cal, fulfilled: true) }
                case .nextReply:
                    if agentReplied, !updated.isStopped { updated.stop(at: now, calendar: cal, fulfilled: true) }
                    // A requester's comment starts it only once an agent has replied: before the
                    // first reply, the first-reply clock already measures that wait.
                    else if requesterWrote, updated.isStopped, !solved, hasAgentReply { updated.restart(at: now, calendar: cal) }
                case .periodicUpdate:
                    if agentReplied, !solved { updated.restart(at: now, calendar: cal) }
                case .resolution:
                    break
                }
                if solved, !updated.isStopped {
                    updated.stop(at: now, calendar: cal, fulfilled: target.metric == .resolution)
                } else if !solved, wasSolved, updated.isStopped,
                          target.metric == .resolution || target.metric == .periodicUpdate || (target.metric == .firstReply && updated.fulfilledAt == nil) {
                    // Reopened: resolution, and a first reply never given, continue where they
                    // stopped; periodic updates start over.
                    if target.metric != .periodicUpdate {
                        updated.isStopped = false
                        updated.fulfilledAt = nil
                        updated.resume(at: now, calendar: cal)
                    } else {
                        updated.restart(at: now, calendar: cal)
                    }
                }
                if !updated.isStopped {
                    let paused = target.pauseWhen?.evaluate(ctx) ?? false
                    if paused, updated.runningSince != nil { updated.pause(at: now, calendar: cal) }
                    if !paused, updated.runningSince == nil { updated.resume(at: now, calendar: cal) }
                }
                if updated.target != target.target || updated.calendar != target.calendar {
                    updated.target = target.target
                    updated.calendar = target.calendar
                }
                updated.recomputeDue(calendar: cal)
                clock = updated
                if existing != clock, let clock { emit(.slaClockSet(key: key, clock: clock), Cause(.sla, key)) }
            }
        }
    }

    /// A clock for a policy that has just started to apply, or nil if its metric has
    /// nothing to measure yet (a next reply before any requester follow-up).
    func newClock(policy: SLAPolicy, target: SLATarget, calendar cal: BusinessCalendar, hasAgentReply: Bool) -> SLAClock? {
        let start: Instant
        switch target.metric {
        case .firstReply:
            guard !hasAgentReply else { return nil }
            start = ticket.createdAt
        case .resolution:
            start = ticket.createdAt
        case .periodicUpdate:
            start = ticket.comments.last { $0.author == .agent && $0.isPublic }?.at ?? ticket.createdAt
        case .nextReply:
            guard hasAgentReply, let last = ticket.comments.last(where: { $0.isPublic && $0.author != .system }),
                  last.author == .requester else {
                var idle = SLAClock(policy: policy.name, metric: target.metric, target: target.target, calendar: target.calendar, startedAt: now)
                idle.runningSince = nil
                idle.isStopped = true
                return idle
            }
            start = last.at
        }
        var clock = SLAClock(policy: policy.name, metric: target.metric, target: target.target, calendar: target.calendar, startedAt: start)
        // A policy chosen late (say after a priority change) counts from the clock's real start.
        clock.elapsed = .zero
        clock.runningSince = start
        clock.recomputeDue(calendar: cal)
        return clock
    }

    /// Derives the wanted SLA timers from the clocks and emits the difference.
    mutating func settleTimers() {
        var wanted: [String: TimerEntry] = [:]
        for (key, clock) in ticket.slaClocks {
            guard let (target, planned) = target(forClock: key) else { continue }
            let cal = calendar(of: clock, planned: planned)
            if clock.isRunning, !clock.isBreached, let due = clock.due {
                wanted[planned.breachTimer] = TimerEntry(due: due, purpose: .slaBreach(clock: key))
                if let warn = clock.warningDue(target.warnAt, calendar: cal) {
                    wanted[planned.warningTimer] = TimerEntry(due: min(warn, due), purpose: .slaWarning(clock: key))
                }
            }
            if let breachedAt = clock.breachedAt, !clock.isStopped {
                let next = clock.escalationLevel + 1
                if target.escalations.indices.contains(next - 1) {
                    wanted[planned.escalationTimers[next - 1]] = TimerEntry(
                        due: breachedAt + target.escalations[next - 1].after, purpose: .slaEscalation(clock: key, level: next))
                }
            }
        }
        for id in ticket.timers.keys where id.hasPrefix("sla/") && wanted[id] != ticket.timers[id] {
            if wanted[id] == nil { emit(.timerCleared(id: id), .system) }
        }
        for id in wanted.keys.sorted() where wanted[id] != ticket.timers[id] {
            emit(.timerSet(id: id, entry: wanted[id]!), .system)
        }
    }

    /// Arms each automation's exact timer while its condition can become true, and re-arms
    /// a fired automation once its condition has turned false.
    mutating func settleAutomations() {
        for (index, automation) in workflow.automations.enumerated() {
            let id = plan.automationTimers[index]
            let at = automation.condition.becomesTrue(ctx)
            let fired = ticket.firedAutomations.contains(automation.name)
            if at == nil || fired {
                if ticket.timers[id] != nil { emit(.timerCleared(id: id), .system) }
                if at == nil, fired { emit(.automationArmed(name: automation.name), Cause(.automation, automation.name)) }
                continue
            }
            let entry = TimerEntry(due: max(at!, ticket.createdAt), purpose: .automation(name: automation.name))
            if ticket.timers[id] != entry { emit(.timerSet(id: id, entry: entry), .system) }
        }
    }
}
