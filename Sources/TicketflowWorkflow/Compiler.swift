import TicketflowCore

/// Turns the syntax of one workflow (its files already merged) into a `Workflow`,
/// collecting every diagnostic instead of stopping at the first.
struct Compiler {
    var diagnostics: [Diagnostic] = []
    /// Names declared so far, for reference checks in later sections.
    var statuses: [String] = []
    var lineNames: [String] = []
    var queueNames: Set<String> = []
    var calendarNames: Set<String> = [BusinessCalendar.alwaysOpen.name]
    var templateNames: Set<String> = []
    var templates: [String: Template] = [:]
    var macroNames: Set<String> = []
    /// Webhook hosts inside the network that the node's configuration admits.
    var allowedWebhookHosts: Set<String> = []
    /// Where each rule was written ("trigger/NAME", "automation/NAME", "sla/NAME",
    /// "macro/NAME"), so whole-workflow checks can point at it.
    var rulePositions: [String: SourcePosition] = [:]

    mutating func noteRule(_ kind: String, _ name: String, at position: SourcePosition) {
        if rulePositions["\(kind)/\(name)"] == nil { rulePositions["\(kind)/\(name)"] = position }
    }

    func position(of kind: String, _ name: String) -> SourcePosition {
        rulePositions["\(kind)/\(name)"] ?? SourcePosition(file: "", line: 1, column: 1)
    }

    mutating func error(_ at: SourcePosition, _ message: String, rule: String) {
        diagnostics.append(Diagnostic(file: at.file, line: at.line, column: at.column, severity: .error, message: message, rule: rule))
    }

    mutating func warning(_ at: SourcePosition, _ message: String, rule: String) {
        diagnostics.append(Diagnostic(file: at.file, line: at.line, column: at.column, severity: .warning, message: message, rule: rule))
    }

    /// The entries of a mapping, reporting any key not in `allowed` with "expected one of …".
    mutating func entries(_ node: Syntax, allowed: [String], context: String) -> [String: Syntax.Entry]? {
        guard case .map(let entries, _) = node else {
            error(node.position, "\(context) must be a mapping, found \(node.kindName)", rule: "type")
            return nil
        }
        var result: [String: Syntax.Entry] = [:]
        for entry in entries {
            if allowed.contains(entry.key) {
                result[entry.key] = entry
            } else {
                error(entry.keyPosition, "unknown key '\(entry.key)' in \(context); expected one of \(allowed.joined(separator: ", "))", rule: "unknown-key")
            }
        }
        return result
    }

    mutating func require(_ entries: [String: Syntax.Entry], _ key: String, in node: Syntax, context: String) -> Syntax? {
        guard let entry = entries[key] else {
            error(node.position, "\(context) needs '\(key)'", rule: "missing-key")
            return nil
        }
        return entry.value
    }

    mutating func string(_ node: Syntax, context: String) -> String? {
        guard let s = node.scalar else {
            error(node.position, "\(context) must be a value, found \(node.kindName)", rule: "type")
            return nil
        }
        return s
    }

    /// A list of scalars; a single scalar counts as a list of one.
    mutating func strings(_ node: Syntax, context: String) -> [String]? {
        switch node {
        case .scalar(let s, _): return [s]
        case .list(let items, _):
            // Every item that is not a value is reported, not only the first.
            let out = items.compactMap { string($0, context: "each item of \(context)") }
            return out.count == items.count ? out : nil
        case .map:
            error(node.position, "\(context) must be a value or a list of values, found a mapping", rule: "type")
            return nil
        }
    }

    mutating func list(_ node: Syntax, context: String) -> [Syntax]? {
        guard case .list(let items, _) = node else {
            error(node.position, "\(context) must be a list, found \(node.kindName)", rule: "type")
            return nil
        }
        return items
    }

    mutating func span(_ node: Syntax, context: String) -> TimeSpan? {
        guard let text = string(node, context: context) else { return nil }
        guard let span = TimeSpan(parsing: text) else {
            error(node.position, "\(context): '\(text)' is not a duration; write e.g. 30m, 4h, 2d or 1h30m", rule: "duration")
            return nil
        }
        return span
    }

    mutating func bool(_ node: Syntax, context: String) -> Bool? {
        guard let text = string(node, context: context) else { return nil }
        switch text {
        case "true", "yes": return true
        case "false", "no": return false
        default:
            error(node.position, "\(context) must be true or false, found '\(text)'", rule: "type")
            return nil
        }
    }

    mutating func positiveInt(_ node: Syntax, context: String) -> Int? {
        guard let text = string(node, context: context) else { return nil }
        guard let n = Int(text), n > 0 else {
            error(node.position, "\(context) must be a positive whole number, found '\(text)'", rule: "type")
            return nil
        }
        return n
    }

    /// Checks that a name is unique within its section.
    mutating func unique(_ name: String, _ seen: inout Set<String>, at: SourcePosition, what: String) {
        if !seen.insert(name).inserted { error(at, "duplicate \(what) name '\(name)'", rule: "duplicate-name") }
    }

    mutating func checkTemplate(_ text: String, at: SourcePosition) -> Template {
        let (template, problems) = Template.parse(text)
        for problem in problems { error(at, problem, rule: "template") }
        return template
    }
}
