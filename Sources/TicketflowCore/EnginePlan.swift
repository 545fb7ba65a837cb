/// Lookups every decision needs, worked out once per workflow: each SLA clock's key, calendar
/// and timer ids, and each automation's timer id. Building these strings and finding these
/// values on every decision was a large part of the engine's time.
final class EnginePlan: Sendable {
    /// One clock an SLA policy keeps: target `target` of policy `policy` (indexes in the workflow).
    struct Clock: Sendable {
        let policy: Int
        let target: Int
        /// `policy/metric`, the clock's key on the ticket.
        let key: String
        let calendar: BusinessCalendar
        let breachTimer: String
        let warningTimer: String
        /// Timer ids of escalation levels 1, 2, …
        let escalationTimers: [String]
    }

    /// Clocks by policy index, then target index.
    let clocks: [[Clock]]
    /// Clocks by key; for two targets of one metric, the first (as `targets.first` finds it).
    let clockByKey: [String: Clock]
    /// `auto/NAME`, by automation index.
    let automationTimers: [String]
    /// The workflow's label (`name@version`), which every event carries.
    let label: String

    init(_ workflow: Workflow) {
        clocks = workflow.slaPolicies.enumerated().map { p, policy in
            policy.targets.enumerated().map { t, target in
                let key = "\(policy.name)/\(target.metric.rawValue)"
                return Clock(policy: p, target: t, key: key, calendar: workflow.calendars[target.calendar] ?? .alwaysOpen,
                             breachTimer: "sla/\(key)/breach", warningTimer: "sla/\(key)/warning",
                             escalationTimers: target.escalations.indices.map { "sla/\(key)/escalation/\($0 + 1)" })
            }
        }
        var byKey: [String: Clock] = [:]
        for clock in clocks.joined() where byKey[clock.key] == nil { byKey[clock.key] = clock }
        clockByKey = byKey
        automationTimers = workflow.automations.map { "auto/\($0.name)" }
        label = workflow.label
    }
}
