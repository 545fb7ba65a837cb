/// "Why" for one ticket: for each step of its history (a command or a timer and everything it
/// set off), the rules the engine considered, whether their conditions held with the values
/// they saw, and what each firing did. Built from the journal and the workflow versions the
/// events name (`TicketExplainer`), served by `ticketflow why` and
/// `GET /api/v1/tickets/{id}/why`.
public struct TicketExplanation: Codable, Sendable, Equatable {
    public var ticket: String
    public var steps: [Step]

    public init(ticket: String, steps: [Step]) { self.ticket = ticket; self.steps = steps }

    public struct Step: Codable, Sendable, Equatable {
        /// When; who or what started the step (`agent:bob`, `api:api`, `system:engine` for a
        /// timer); the workflow (`name@version`) that decided it.
        public var at, cause, workflowVersion: String
        /// What the command or timer itself did, in the audit's words; the trigger events it
        /// raised (`ticket.updated`, `sla.breach` …).
        public var happened, raised: [String]
        public var rules: [RuleEvaluation]

        public init(at: String, cause: String, workflowVersion: String, happened: [String], raised: [String], rules: [RuleEvaluation]) {
            self.at = at; self.cause = cause; self.workflowVersion = workflowVersion
            self.happened = happened; self.raised = raised; self.rules = rules
        }

        enum CodingKeys: String, CodingKey { case at, cause, workflowVersion = "workflow_version", happened, raised, rules }
    }

    public struct RuleEvaluation: Codable, Sendable, Equatable {
        public enum Kind: String, Codable, Sendable { case trigger, automation, slaPolicy = "sla_policy" }
        public enum Outcome: String, Codable, Sendable {
            /// The rule fired (a trigger, an automation).
            case fired
            /// Its condition did not hold.
            case notFired = "not_fired"
            /// Its condition held, yet it did not fire: it had fired earlier in the same chain,
            /// or the chain reached the loop cap first.
            case heldNotFired = "held_not_fired"
            /// The SLA policy is its group's choice.
            case applies
            /// The SLA policy's `when` did not hold.
            case doesNotApply = "does_not_apply"
            /// The SLA policy's `when` held, but an earlier policy of its group was chosen.
            case shadowed
        }
        public var kind: Kind
        public var name: String
        public var outcome: Outcome
        /// The condition with the values it saw; nil when the rule has none (it always holds).
        public var condition: ConditionTrace?
        /// What the firing did, in the audit's words.
        public var did: [String]

        public init(kind: Kind, name: String, outcome: Outcome, condition: ConditionTrace?, did: [String] = []) {
            self.kind = kind; self.name = name; self.outcome = outcome; self.condition = condition; self.did = did
        }
    }

    /// The explanation as text, a step a paragraph.
    public var text: String {
        var lines: [String] = []
        for step in steps {
            lines.append("\(step.at)  \(step.cause)  [\(step.workflowVersion)]")
            for h in step.happened { lines.append("  \(h)") }
            if !step.raised.isEmpty { lines.append("  raised: \(step.raised.joined(separator: ", "))") }
            for rule in step.rules {
                lines.append("  \(rule.kind.rawValue.replacingOccurrences(of: "_", with: " ")) \(rule.name): \(rule.outcome.rawValue.replacingOccurrences(of: "_", with: " "))")
                lines += rule.condition?.lines(indent: "    ") ?? ["    (no condition)"]
                for d in rule.did { lines.append("    → \(d)") }
            }
        }
        return lines.joined(separator: "\n")
    }
}
