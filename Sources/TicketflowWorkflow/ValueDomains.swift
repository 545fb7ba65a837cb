import TicketflowCore

/// The fields whose values a workflow enumerates (status, priority, channel, line, queue),
/// and what a condition admits of each: the checker's small abstract interpretation. It is
/// exact for tests of those fields joined by all/any, and says "anything" (nil) wherever it
/// cannot tell, so every finding built on it is a certainty, never a guess.
struct ValueDomains {
    /// Each enumerated field's values in their order (priorities and lines by rank).
    let values: [String: [String]]

    init(_ workflow: Workflow) {
        values = [
            "status": workflow.statuses,
            "priority": Priority.allCases.map(\.rawValue),
            "channel": Channel.allCases.map(\.rawValue),
            "line": workflow.lines.map(\.name),
            "queue": workflow.queues.keys.sorted(),
        ]
    }

    static let fields = ["status", "priority", "channel", "line", "queue"]

    /// The values of `field` a ticket may have while `condition` holds; nil when the
    /// condition does not restrict it (or the analysis cannot tell).
    func admitted(_ field: String, by condition: Condition?) -> Set<String>? {
        guard let condition, let domain = values[field] else { return nil }
        switch condition {
        case .all(let parts):
            return parts.reduce(nil as Set<String>?) { sofar, part in
                guard let these = admitted(field, by: part) else { return sofar }
                return sofar.map { $0.intersection(these) } ?? these
            }
        case .any(let parts):
            var union: Set<String> = []
            for part in parts {
                guard let these = admitted(field, by: part) else { return nil }
                union.formUnion(these)
            }
            return union
        case .not(let inner):
            // Only a test of this field alone can be complemented.
            guard case .test(let f, _, _) = inner, f == field, let these = admitted(field, by: inner) else { return nil }
            return Set(domain).subtracting(these)
        case let .test(f, op, tested) where f == field:
            switch op {
            case .is, .in: return Set(tested).intersection(domain)
            case .isNot, .notIn: return Set(domain).subtracting(tested)
            case .lessThan, .greaterThan:
                guard field == "priority" || field == "line", let pivot = tested.first, let at = domain.firstIndex(of: pivot) else { return nil }
                return Set(op == .lessThan ? domain[..<at] : domain[(at + 1)...])
            default: return nil
            }
        case let .changedTo(f, value) where f == field:
            return [value]
        case let .since(anchor, _) where field == "status" && domain.contains(anchor):
            return [anchor]
        default:
            return nil
        }
    }

    /// The first enumerated field no value of which satisfies the condition, if any.
    func impossibleField(in condition: Condition?) -> String? {
        Self.fields.first { admitted($0, by: condition)?.isEmpty == true }
    }

    /// Whether the condition tests nothing but enumerated fields, joined by `all` (so what
    /// it admits is exactly the product of the admitted sets).
    func isProduct(_ condition: Condition) -> Bool {
        switch condition {
        case .all(let parts): return parts.allSatisfy(isProduct)
        case let .test(field, op, _): return values[field] != nil && [.is, .in, .isNot, .notIn, .lessThan, .greaterThan].contains(op)
        default: return false
        }
    }

    /// Whether every ticket `later` admits is admitted by `earlier` as well (a policy chosen
    /// first in its group then leaves nothing to the later one). True only when certain.
    func covers(_ earlier: Condition?, _ later: Condition?) -> Bool {
        guard let earlier else { return true }
        guard isProduct(earlier) else { return earlier == later }
        for field in Self.fields {
            guard let required = admitted(field, by: earlier) else { continue }
            let possible = admitted(field, by: later) ?? Set(values[field] ?? [])
            if !possible.isSubset(of: required) { return false }
        }
        return true
    }
}
