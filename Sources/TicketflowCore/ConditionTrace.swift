/// Why a condition held or not: the same evaluation as `Condition.evaluate`, keeping every
/// test's actual values, so "why did my trigger not fire" has an answer (`ticketflow why`,
/// `GET /api/v1/tickets/{id}/why`, failed workflow tests).
public struct ConditionTrace: Hashable, Codable, Sendable {
    public var held: Bool
    /// The test in the workflow's words, with what the ticket had: `priority is urgent (priority: high)`.
    public var text: String
    /// The parts of `all`, `any` and `not`.
    public var parts: [ConditionTrace]

    public init(held: Bool, text: String, parts: [ConditionTrace] = []) {
        self.held = held; self.text = text; self.parts = parts
    }

    /// Indented lines, ✓ for what held and ✗ for what did not.
    public func lines(indent: String = "") -> [String] {
        ["\(indent)\(held ? "✓" : "✗") \(text)"] + parts.flatMap { $0.lines(indent: indent + "  ") }
    }
}

extension Condition {
    /// Evaluates the condition as `evaluate` does, and says why.
    public func explain(_ ctx: EvaluationContext) -> ConditionTrace {
        switch self {
        case .all(let cs):
            let parts = cs.map { $0.explain(ctx) }
            return ConditionTrace(held: parts.allSatisfy(\.held), text: "all of", parts: parts)
        case .any(let cs):
            let parts = cs.map { $0.explain(ctx) }
            return ConditionTrace(held: parts.contains { $0.held }, text: "any of", parts: parts)
        case .not(let c):
            let part = c.explain(ctx)
            return ConditionTrace(held: !part.held, text: "not", parts: [part])
        case let .test(field, op, expected):
            let actual = ctx.ticket.values(of: field, workflow: ctx.workflow, comment: ctx.comment)
            let held = Condition.test(actual, op, expected, field: field, workflow: ctx.workflow)
            let wanted = [.present, .absent].contains(op) ? "" : " " + (expected.count == 1 ? expected[0] : "[" + expected.joined(separator: ", ") + "]")
            return ConditionTrace(held: held, text: "\(field) \(op.spoken)\(wanted) (\(field): \(actual.isEmpty ? "none" : actual.joined(separator: ", ")))")
        case .changed(let field):
            return ConditionTrace(held: ctx.changes[field] != nil, text: "\(field) changed (\(Self.change(ctx, field)))")
        case let .changedTo(field, value):
            return ConditionTrace(held: ctx.changes[field]?.to == value, text: "\(field) changed to \(value) (\(Self.change(ctx, field)))")
        case let .changedFrom(field, value):
            return ConditionTrace(held: ctx.changes[field].map { $0.from == value } ?? false, text: "\(field) changed from \(value) (\(Self.change(ctx, field)))")
        case let .since(anchor, span):
            let from = becomesTrue(ctx)
            let when = from.map { "holds from \($0)" } ?? (anchor == "created" || anchor == "updated" ? "never" : "status is \(ctx.ticket.status), not \(anchor)")
            return ConditionTrace(held: from.map { $0 <= ctx.now } ?? false, text: "\(span) since \(anchor) (\(when); now \(ctx.now))")
        case let .before(clock, span):
            let from = becomesTrue(ctx)
            let when = from.map { "holds from \($0)" } ?? "no running \(clock) clock"
            return ConditionTrace(held: from.map { $0 <= ctx.now } ?? false, text: "\(span) before \(clock) is due (\(when); now \(ctx.now))")
        }
    }

    private static func change(_ ctx: EvaluationContext, _ field: String) -> String {
        guard let change = ctx.changes[field] else { return "unchanged in this change" }
        return "\(change.from ?? "none") → \(change.to ?? "none")"
    }
}

extension FieldOperator {
    /// The operator as a sentence says it.
    public var spoken: String {
        switch self {
        case .is: return "is"
        case .isNot: return "is not"
        case .in: return "is one of"
        case .notIn: return "is none of"
        case .contains: return "contains"
        case .notContains: return "does not contain"
        case .matches: return "matches"
        case .lessThan: return "<"
        case .greaterThan: return ">"
        case .present: return "is present"
        case .absent: return "is absent"
        }
    }
}
