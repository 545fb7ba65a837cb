/// A structured rule condition: `all` / `any` / `not` over field tests, change tests and time tests.
///
/// Deliberately not a programming language: a designer can predict what it does,
/// and the checker can see which fields and instants it depends on.
public indirect enum Condition: Hashable, Codable, Sendable {
    case all([Condition])
    case any([Condition])
    case not(Condition)
    case test(field: String, op: FieldOperator, value: [String])
    /// The field changed in the current causal chain.
    case changed(field: String)
    case changedTo(field: String, value: String)
    case changedFrom(field: String, value: String)
    /// True once `span` has passed since the anchor (`created`, `updated` or a status name;
    /// for a status the ticket must still be in it).
    case since(anchor: String, span: TimeSpan)
    /// True from `span` before an SLA clock's due instant (`sla.resolution`) while it runs.
    case before(clock: String, span: TimeSpan)

    /// Whether the condition reads the clock (and so needs a timer, not an event).
    public var isTimeBased: Bool {
        switch self {
        case .all(let c), .any(let c): return c.contains { $0.isTimeBased }
        case .not(let c): return c.isTimeBased
        case .since, .before: return true
        default: return false
        }
    }

    /// Whether the condition looks at what changed (meaningless for time rules).
    public var readsChanges: Bool {
        switch self {
        case .all(let c), .any(let c): return c.contains { $0.readsChanges }
        case .not(let c): return c.readsChanges
        case .changed, .changedTo, .changedFrom: return true
        default: return false
        }
    }

    /// Every field the condition tests, for the nullification and conflict checks.
    public var testedFields: Set<String> {
        switch self {
        case .all(let c), .any(let c): return c.reduce(into: Set()) { $0.formUnion($1.testedFields) }
        case .not(let c): return c.testedFields
        case .test(let f, _, _), .changed(let f), .changedTo(let f, _), .changedFrom(let f, _): return [f]
        case .since(let anchor, _): return anchor == "created" ? [] : (anchor == "updated" ? ["updated"] : ["status"])
        case .before: return ["status"]
        }
    }
}

/// Operators of a field test. `lt`/`gt` compare priorities by rank, lines by order,
/// numbers numerically and other text lexically.
public enum FieldOperator: String, Codable, CaseIterable, Sendable {
    case `is`, isNot = "is_not", `in`, notIn = "not_in", contains, notContains = "not_contains"
    case matches, lessThan = "<", greaterThan = ">", present, absent
}

/// What a condition is evaluated against.
public struct EvaluationContext: Sendable {
    public var ticket: Ticket
    public var workflow: Workflow
    public var now: Instant
    /// Fields changed in the current causal chain: field → (first old value, latest new value).
    public var changes: [String: (from: String?, to: String?)]
    /// The comment being handled, for `comment.*` fields in `ticket.commented` triggers.
    public var comment: Comment?

    public init(ticket: Ticket, workflow: Workflow, now: Instant,
                changes: [String: (from: String?, to: String?)] = [:], comment: Comment? = nil) {
        self.ticket = ticket; self.workflow = workflow; self.now = now; self.changes = changes; self.comment = comment
    }
}

extension Ticket {
    /// Field paths that conditions, templates and `set` actions may use, besides `fields.*`.
    public static let knownFields: Set<String> = [
        "id", "subject", "description", "status", "priority", "channel", "type", "tags", "line", "queue",
        "assignee", "requester.name", "requester.email", "requester.organization", "organization",
        "comment.public", "comment.author", "comment.body", "required_skills",
    ]

    /// Fields an action may `set`.
    public static let settableFields: Set<String> = ["subject", "description", "status", "priority", "type"]

    public static func isKnownField(_ path: String) -> Bool {
        knownFields.contains(path) || (path.hasPrefix("fields.") && path.count > 7)
    }

    /// The value(s) of a field path; tags and skills are lists, everything else one value or none.
    public func values(of path: String, workflow: Workflow, comment: Comment? = nil) -> [String] {
        func one(_ s: String?) -> [String] { s.map { [$0] } ?? [] }
        switch path {
        case "id": return [id]
        case "subject": return [subject]
        case "description": return [description]
        case "status": return [status]
        case "priority": return [priority.rawValue]
        case "channel": return [channel.rawValue]
        case "type": return one(type)
        case "tags": return tags
        case "required_skills": return requiredSkills
        case "line": return one(workflow.lines.indices.contains(line) ? workflow.lines[line].name : nil)
        case "queue": return [queue]
        case "assignee": return one(assignee)
        case "requester.name": return [requester.name]
        case "requester.email": return [requester.email]
        case "requester.organization", "organization": return one(requester.organization)
        case "comment.public": return one(comment.map { $0.isPublic ? "true" : "false" })
        case "comment.author": return one(comment?.author.rawValue)
        case "comment.body": return one(comment?.body)
        default:
            if path.hasPrefix("fields.") { return one(fields[String(path.dropFirst(7))]) }
            return []
        }
    }
}

extension Condition {
    /// Evaluates the condition now.
    public func evaluate(_ ctx: EvaluationContext) -> Bool {
        switch self {
        case .all(let cs): return cs.allSatisfy { $0.evaluate(ctx) }
        case .any(let cs): return cs.contains { $0.evaluate(ctx) }
        case .not(let c): return !c.evaluate(ctx)
        case let .test(field, op, expected):
            return Condition.test(ctx.ticket.values(of: field, workflow: ctx.workflow, comment: ctx.comment),
                                  op, expected, field: field, workflow: ctx.workflow)
        case .changed(let field): return ctx.changes[field] != nil
        case let .changedTo(field, value): return ctx.changes[field]?.to == value
        case let .changedFrom(field, value): return ctx.changes[field].map { $0.from == value } ?? false
        case .since, .before:
            guard let at = becomesTrue(ctx) else { return false }
            return at <= ctx.now
        }
    }

    /// The instant from which the condition holds if the ticket does not change, or nil if never.
    /// A condition already true returns an instant at or before `ctx.now`.
    public func becomesTrue(_ ctx: EvaluationContext) -> Instant? {
        let always = Instant(millis: Int64.min / 4)
        switch self {
        case .all(let cs):
            var latest = always
            for c in cs {
                guard let at = c.becomesTrue(ctx) else { return nil }
                latest = max(latest, at)
            }
            return latest
        case .any(let cs):
            return cs.compactMap { $0.becomesTrue(ctx) }.min()
        case let .since(anchor, span):
            switch anchor {
            case "created": return ctx.ticket.createdAt + span
            case "updated": return ctx.ticket.updatedAt + span
            default:
                guard ctx.ticket.status == anchor, let entered = ctx.ticket.enteredStatusAt[anchor] else { return nil }
                return entered + span
            }
        case let .before(clockName, span):
            let metric = clockName.hasPrefix("sla.") ? String(clockName.dropFirst(4)) : clockName
            let dues = ctx.ticket.slaClocks.values.filter { $0.metric.rawValue == metric && $0.isRunning }.compactMap(\.due)
            guard let due = dues.min() else { return nil }
            return due - span
        default:
            return evaluate(ctx) ? always : nil
        }
    }

    static func test(_ actual: [String], _ op: FieldOperator, _ expected: [String], field: String, workflow: Workflow) -> Bool {
        switch op {
        case .is: return actual.count == 1 ? actual[0] == expected.first : (actual.isEmpty ? false : actual.contains(expected.first ?? ""))
        case .isNot: return !test(actual, .is, expected, field: field, workflow: workflow)
        case .in: return actual.contains { expected.contains($0) }
        case .notIn: return !actual.contains { expected.contains($0) }
        case .contains:
            let needle = (expected.first ?? "").lowercased()
            return actual.contains { $0 == expected.first || $0.lowercased().contains(needle) }
        case .notContains: return !test(actual, .contains, expected, field: field, workflow: workflow)
        case .matches:
            // The checker refuses a pattern that does not compile, so one that does not compile
            // here matches nothing; and a compiled pattern's match over a String does not fail.
            guard let pattern = expected.first, let regex = try? Regex(pattern) else { return false }
            return actual.contains { (try? regex.firstMatch(in: $0)) != nil }
        case .present: return !actual.isEmpty && actual != [""]
        case .absent: return actual.isEmpty || actual == [""]
        case .lessThan, .greaterThan:
            guard let a = actual.first, let b = expected.first else { return false }
            let order = compare(a, b, field: field, workflow: workflow)
            return op == .lessThan ? order < 0 : order > 0
        }
    }

    /// Orders two values of a field: priorities by rank, lines by order, numbers numerically.
    static func compare(_ a: String, _ b: String, field: String, workflow: Workflow) -> Int {
        if field == "priority", let pa = Priority(rawValue: a), let pb = Priority(rawValue: b) {
            return pa.rank - pb.rank
        }
        if field == "line", let la = workflow.lineIndex(named: a), let lb = workflow.lineIndex(named: b) {
            return la - lb
        }
        if let da = Double(a), let db = Double(b) { return da < db ? -1 : (da > db ? 1 : 0) }
        return a < b ? -1 : (a > b ? 1 : 0)
    }
}
