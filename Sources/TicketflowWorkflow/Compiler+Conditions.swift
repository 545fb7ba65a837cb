import TicketflowCore

extension Compiler {
    /// Parses a condition. A mapping with several keys means all of them; a field with a
    /// value means `is`, with a list means `in`, with a mapping names its operator.
    mutating func condition(_ node: Syntax, allowChanges: Bool, allowTime: Bool) -> Condition? {
        switch node {
        case .list(let items, _):
            return .all(items.compactMap { condition($0, allowChanges: allowChanges, allowTime: allowTime) })
        case .scalar:
            error(node.position, "a condition must be a mapping such as {priority: urgent} or {all: [...]}", rule: "condition")
            return nil
        case .map(let entries, _):
            var parts: [Condition] = []
            for entry in entries {
                if let c = conditionEntry(entry, allowChanges: allowChanges, allowTime: allowTime) { parts.append(c) }
            }
            return parts.count == 1 ? parts[0] : .all(parts)
        }
    }

    mutating func conditionEntry(_ entry: Syntax.Entry, allowChanges: Bool, allowTime: Bool) -> Condition? {
        let value = entry.value
        switch entry.key {
        case "all", "any":
            guard let items = list(value, context: entry.key) else { return nil }
            let parts = items.compactMap { condition($0, allowChanges: allowChanges, allowTime: allowTime) }
            return entry.key == "all" ? .all(parts) : .any(parts)
        case "not":
            guard let inner = condition(value, allowChanges: allowChanges, allowTime: false) else { return nil }
            return .not(inner)
        case "changed", "changed_to", "changed_from":
            guard allowChanges else {
                error(entry.keyPosition, "'\(entry.key)' only makes sense in triggers, which react to changes", rule: "condition")
                return nil
            }
            if entry.key == "changed" {
                guard let field = string(value, context: "changed") else { return nil }
                guard checkField(field, at: value.position) else { return nil }
                return .changed(field: field)
            }
            guard case .map(let pairs, _) = value, pairs.count == 1, let v = pairs[0].value.scalar else {
                error(value.position, "\(entry.key) must name one field and value, e.g. {\(entry.key): {status: solved}}", rule: "condition")
                return nil
            }
            guard checkField(pairs[0].key, at: pairs[0].keyPosition), checkValue(v, field: pairs[0].key, at: pairs[0].value.position) else { return nil }
            return entry.key == "changed_to" ? .changedTo(field: pairs[0].key, value: v) : .changedFrom(field: pairs[0].key, value: v)
        case "since", "before":
            guard allowTime else {
                error(entry.keyPosition, "'\(entry.key)' is a time condition: use it in automations, which run on exact timers", rule: "condition")
                return nil
            }
            guard case .map(let pairs, _) = value, pairs.count == 1 else {
                error(value.position, "\(entry.key) must be a mapping with one entry, such as {solved: 4d}", rule: "condition")
                return nil
            }
            guard let s = span(pairs[0].value, context: entry.key) else { return nil }
            let anchor = pairs[0].key
            if entry.key == "since" {
                guard anchor == "created" || anchor == "updated" || checkStatus(anchor, at: pairs[0].keyPosition) else { return nil }
                return .since(anchor: anchor, span: s)
            }
            let metric = anchor.hasPrefix("sla.") ? String(anchor.dropFirst(4)) : ""
            guard SLAMetric(rawValue: metric) != nil else {
                error(pairs[0].keyPosition, "before needs an SLA clock such as sla.resolution; expected one of \(SLAMetric.allCases.map { "sla.\($0.rawValue)" }.joined(separator: ", "))", rule: "condition")
                return nil
            }
            return .before(clock: anchor, span: s)
        default:
            let field = entry.key
            guard checkField(field, at: entry.keyPosition) else { return nil }
            switch value {
            case .scalar(let v, let p):
                guard checkValue(v, field: field, at: p) else { return nil }
                return .test(field: field, op: .is, value: [v])
            case .list:
                guard let vs = strings(value, context: field) else { return nil }
                for v in vs { _ = checkValue(v, field: field, at: value.position) }
                return .test(field: field, op: .in, value: vs)
            case .map(let ops, _):
                var parts: [Condition] = []
                for op in ops {
                    guard let fieldOp = FieldOperator(rawValue: op.key) ?? ["lt": .lessThan, "gt": .greaterThan][op.key] else {
                        error(op.keyPosition, "unknown operator '\(op.key)'; expected one of \(FieldOperator.allCases.map(\.rawValue).joined(separator: ", "))", rule: "condition")
                        continue
                    }
                    if fieldOp == .present || fieldOp == .absent {
                        guard let b = bool(op.value, context: op.key) else { continue }
                        parts.append(.test(field: field, op: b ? fieldOp : (fieldOp == .present ? .absent : .present), value: []))
                        continue
                    }
                    guard let vs = strings(op.value, context: "\(field) \(op.key)") else { continue }
                    // The regex error itself is not useful to a designer; the diagnostic names the pattern.
                    if fieldOp == .matches, let pattern = vs.first, (try? Regex(pattern)) == nil {
                        error(op.value.position, "'\(pattern)' is not a valid regular expression", rule: "condition")
                        continue
                    }
                    if [.is, .isNot, .in, .notIn].contains(fieldOp) { for v in vs { _ = checkValue(v, field: field, at: op.value.position) } }
                    parts.append(.test(field: field, op: fieldOp, value: vs))
                }
                return parts.count == 1 ? parts[0] : .all(parts)
            }
        }
    }

    func isMap(_ node: Syntax) -> Bool { if case .map = node { return true } else { return false } }

    mutating func checkField(_ field: String, at: SourcePosition) -> Bool {
        guard Ticket.isKnownField(field) else {
            error(at, "unknown field '\(field)'; expected one of \(Ticket.knownFields.sorted().joined(separator: ", ")), fields.<name>, or all/any/not/changed/changed_to/changed_from/since/before", rule: "unknown-field")
            return false
        }
        return true
    }

    /// Checks values of enumerated fields so a typo is an error, not a rule that never fires.
    mutating func checkValue(_ value: String, field: String, at: SourcePosition) -> Bool {
        let allowed: [String]?
        switch field {
        case "status": allowed = statuses
        case "priority": allowed = Priority.allCases.map(\.rawValue)
        case "channel": allowed = Channel.allCases.map(\.rawValue)
        case "line": allowed = lineNames
        case "queue": allowed = Array(queueNames).sorted()
        case "comment.author": allowed = AuthorKind.allCases.map(\.rawValue)
        case "comment.public": allowed = ["true", "false"]
        default: allowed = nil
        }
        if let allowed, !allowed.contains(value) {
            error(at, "'\(value)' is not a valid \(field); expected one of \(allowed.joined(separator: ", "))", rule: "unknown-value")
            return false
        }
        return true
    }

    // MARK: Actions

    static let actionKeys = ["set", "add_tags", "remove_tags", "assign", "escalate", "deescalate", "comment", "macro", "notify", "follow_up"]

    mutating func actions(_ node: Syntax, context: String) -> [Action] {
        guard let items = list(node, context: context) else { return [] }
        var result: [Action] = []
        for item in items {
            guard case .map(let pairs, _) = item, pairs.count == 1 else {
                error(item.position, "each action is a mapping with one key: one of \(Compiler.actionKeys.joined(separator: ", "))", rule: "action")
                continue
            }
            result += action(pairs[0])
        }
        return result
    }

    mutating func action(_ entry: Syntax.Entry) -> [Action] {
        let v = entry.value
        switch entry.key {
        case "set":
            guard case .map(let pairs, _) = v else {
                error(v.position, "set must be a mapping such as {status: closed}", rule: "action")
                return []
            }
            var out: [Action] = []
            for p in pairs {
                guard Ticket.settableFields.contains(p.key) || (p.key.hasPrefix("fields.") && p.key.count > 7) else {
                    error(p.keyPosition, "field '\(p.key)' cannot be set; expected one of \(Ticket.settableFields.sorted().joined(separator: ", ")), fields.<name>", rule: "action")
                    continue
                }
                guard let value = string(p.value, context: p.key), checkValue(value, field: p.key, at: p.value.position) else { continue }
                out.append(.set(field: p.key, value: value))
            }
            return out
        case "add_tags", "remove_tags":
            guard let tags = strings(v, context: entry.key) else { return [] }
            return [entry.key == "add_tags" ? .addTags(tags) : .removeTags(tags)]
        case "assign":
            guard let e = entries(v, allowed: ["queue", "agent"], context: "assign"), e.count == 1 else {
                if isMap(v) { error(v.position, "assign needs exactly one of queue or agent", rule: "action") }
                return []
            }
            if let q = e["queue"], let name = string(q.value, context: "queue") {
                guard queueNames.contains(name) else {
                    error(q.value.position, "unknown queue '\(name)'; expected one of \(queueNames.sorted().joined(separator: ", "))", rule: "unknown-queue")
                    return []
                }
                return [.assignQueue(name)]
            }
            if let a = e["agent"], let name = string(a.value, context: "agent") { return [.assignAgent(name)] }
            return []
        case "escalate", "deescalate":
            guard let target = string(v, context: entry.key) else { return [] }
            let escalating = entry.key == "escalate"
            if target == (escalating ? "next_line" : "previous_line") { return [escalating ? .escalate(.next) : .deescalate(.previous)] }
            guard lineNames.contains(target) else {
                error(v.position, "unknown line '\(target)'; expected \(escalating ? "next_line" : "previous_line") or one of \(lineNames.joined(separator: ", "))", rule: "unknown-line")
                return []
            }
            return [escalating ? .escalate(.named(target)) : .deescalate(.named(target))]
        case "comment":
            guard let e = entries(v, allowed: ["public", "body"], context: "comment"),
                  let bodyNode = require(e, "body", in: v, context: "comment"),
                  let body = string(bodyNode, context: "body") else { return [] }
            let isPublic = e["public"].flatMap { bool($0.value, context: "public") } ?? false
            let template = checkTemplate(body, at: bodyNode.position)
            if isPublic { checkRequesterSafe(template, at: bodyNode.position, what: "a public comment") }
            return [.comment(isPublic: isPublic, body: template)]
        case "macro":
            guard let name = string(v, context: "macro") else { return [] }
            guard macroNames.contains(name) else {
                error(v.position, "unknown macro '\(name)'; expected one of \(macroNames.sorted().joined(separator: ", "))", rule: "unknown-macro")
                return []
            }
            return [.macro(name)]
        case "notify":
            guard let e = entries(v, allowed: ["to", "template"], context: "notify"),
                  let to = require(e, "to", in: v, context: "notify").flatMap({ string($0, context: "to") }),
                  let tNode = require(e, "template", in: v, context: "notify"),
                  let template = string(tNode, context: "template") else { return [] }
            guard templateNames.contains(template) else {
                error(tNode.position, "unknown template '\(template)'; " + (templateNames.isEmpty ? "no templates are defined (add a 'templates:' section)" : "expected one of \(templateNames.sorted().joined(separator: ", "))"), rule: "unknown-template")
                return []
            }
            if to == "requester", let t = templates[template] {
                checkRequesterSafe(t, at: tNode.position, what: "template '\(template)', sent to the requester,")
            }
            return [.notify(recipient: to, template: template)]
        case "follow_up":
            guard let e = entries(v, allowed: ["after", "note"], context: "follow_up"),
                  let after = require(e, "after", in: v, context: "follow_up").flatMap({ span($0, context: "after") }) else { return [] }
            let note = e["note"].flatMap { string($0.value, context: "note") } ?? "follow up"
            return [.followUp(after: after, note: note)]
        default:
            error(entry.keyPosition, "unknown action '\(entry.key)'; expected one of \(Compiler.actionKeys.joined(separator: ", "))", rule: "action")
            return []
        }
    }

    /// A text a requester will read may only show what the requester view shows.
    mutating func checkRequesterSafe(_ template: Template, at position: SourcePosition, what: String) {
        let hidden = template.privatePlaceholders
        guard !hidden.isEmpty else { return }
        error(position, "\(what) shows \(hidden.map { "{{\($0)}}" }.joined(separator: ", ")), which a requester may not see; "
              + "use \(Template.requesterPlaceholders.sorted().map { "{{\($0)}}" }.joined(separator: ", "))", rule: "requester-private-placeholder")
    }
}
