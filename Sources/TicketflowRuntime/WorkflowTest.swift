import Foundation
import TicketflowCore
import TicketflowWorkflow

/// Runs a workflow test file: a workflow, a start instant, agents and timed steps with
/// expectations, all on the virtual clock. See docs/workflow-tests.md for the format.
public struct WorkflowTestRunner {
    /// One checked expectation.
    public struct Check: Sendable {
        public var position: SourcePosition
        public var description: String
        public var passed: Bool
        public var difference: String?
    }

    public struct Report: Sendable {
        public var file: String
        public var checks: [Check] = []
        public var problems: [Diagnostic] = []
        public var passed: Bool { problems.isEmpty && checks.allSatisfy(\.passed) && !checks.isEmpty }
    }

    public init() {}

    public func run(path: String) -> Report {
        var report = Report(file: path)
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            report.problems.append(Diagnostic(file: path, line: 1, column: 1, severity: .error, message: "cannot read test file", rule: "file"))
            return report
        }
        let parsed = Syntax.parse(text, file: path)
        report.problems += parsed.diagnostics
        guard let root = parsed.syntax, parsed.diagnostics.isEmpty else { return report }
        var session = Session(file: path, report: report)
        session.run(root, directory: (path as NSString).deletingLastPathComponent)
        return session.report
    }
}

/// The state of one running test file.
struct Session {
    let file: String
    var report: WorkflowTestRunner.Report
    var node: VirtualNode?
    var lastResult: Result<[Event], Rejection>?
    var stepEvents: [Event] = []

    init(file: String, report: WorkflowTestRunner.Report) { self.file = file; self.report = report }

    mutating func problem(_ at: SourcePosition, _ message: String) {
        report.problems.append(Diagnostic(file: at.file, line: at.line, column: at.column, severity: .error, message: message, rule: "test"))
    }

    /// Records one expectation. A failed one about a ticket's field (`about`) carries the
    /// evaluations of the rules that write that field, from the ticket's "why".
    mutating func check(_ at: SourcePosition, _ what: String, expected: String, actual: String, about: (ticket: String, field: String)? = nil) {
        let passed = expected == actual
        var difference = "\(what): expected \(expected), got \(actual)"
        if !passed, let about { difference += why(ticket: about.ticket, field: about.field) }
        report.checks.append(.init(position: at, description: "\(what) = \(expected)", passed: passed, difference: passed ? nil : difference))
    }

    /// The last steps of the ticket's "why", narrowed to the rules that can change `field`
    /// (SLA policies for `sla`), indented under the failed expectation.
    func why(ticket: String, field: String) -> String {
        guard let node else { return "" }
        let workflow = node.center.workflow
        let writers: Set<String>
        if field == "sla" {
            writers = Set(workflow.slaPolicies.map(\.name))
        } else {
            func writes(_ actions: [Action]) -> Bool {
                actions.contains { $0.writtenFields.contains(field) || (field == "line" && $0.writtenFields.contains("queue")) }
            }
            writers = Set(workflow.triggers.filter { writes($0.actions) }.map(\.name) + workflow.automations.filter { writes($0.actions) }.map(\.name))
        }
        var explanation = TicketExplainer.explain(node.journal.filter { $0.ticket == ticket }, workflows: [workflow.label: workflow])
        explanation.steps = explanation.steps.compactMap { step in
            var step = step
            step.rules = step.rules.filter { writers.contains($0.name) }
            return step.rules.isEmpty ? nil : step
        }.suffix(4)
        guard !explanation.steps.isEmpty else { return "\n         why: no rule that changes \(field) was considered for ticket \(ticket)" }
        return "\n         why (rules that change \(field), last steps):\n" + explanation.text.split(separator: "\n").map { "           " + $0 }.joined(separator: "\n")
    }

    func map(_ node: Syntax) -> [String: Syntax.Entry] {
        guard case .map(let entries, _) = node else { return [:] }
        return Dictionary(entries.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
    }

    mutating func run(_ root: Syntax, directory: String) {
        let top = map(root)
        guard let wf = top["workflow"]?.value.scalar else { problem(root.position, "a workflow test needs 'workflow: <file>'"); return }
        // A test file named without a directory lies in the working directory: its workflow
        // is resolved there, not against the file system's root.
        let wfPath = wf.hasPrefix("/") ? wf : (directory.isEmpty ? "." : directory) + "/" + wf
        let outcome = WorkflowLoader.load(path: wfPath)
        guard let workflow = outcome.workflow else {
            report.problems += outcome.errors
            problem(top["workflow"]!.value.position, "workflow '\(wf)' has errors")
            return
        }
        guard let startText = top["start"]?.value.scalar, let start = Instant(iso8601: startText) else {
            problem(top["start"]?.value.position ?? root.position, "a workflow test needs 'start: <ISO 8601 instant>', e.g. 2027-01-04T09:00:00Z")
            return
        }
        node = VirtualNode(workflow: workflow, start: start)
        if let agents = top["agents"], case .list(let items, _) = agents.value {
            for item in items { agentStep(item) }
        }
        guard let steps = top["steps"], case .list(let items, _) = steps.value else {
            problem(root.position, "a workflow test needs 'steps:' (a list)")
            return
        }
        for step in items { run(step: step) }
    }

    mutating func run(step: Syntax) {
        guard case .map(let entries, _) = step, let entry = entries.first(where: { $0.key != "name" }) else {
            problem(step.position, "each step is a mapping with one action, e.g. {advance: 30m}")
            return
        }
        let v = entry.value
        let fields = map(v)
        func s(_ key: String) -> String? { fields[key]?.value.scalar }
        let ticket = s("ticket") ?? ""
        let by = Cause(.agent, s("by") ?? "agent")
        var command: Command?
        switch entry.key {
        case "advance":
            guard let text = v.scalar, let span = TimeSpan(parsing: text) else { problem(v.position, "advance needs a duration such as 30m"); return }
            stepEvents = node!.advance(to: node!.now + span)
            return
        case "advance_to":
            guard let text = v.scalar, let at = Instant(iso8601: text) else { problem(v.position, "advance_to needs an ISO 8601 instant"); return }
            stepEvents = node!.advance(to: at)
            return
        case "agent":
            agentStep(v)
            return
        case "presence":
            guard let agent = s("agent"), let p = s("status").flatMap(Presence.init(rawValue:)) else {
                problem(v.position, "presence needs agent and status (online, away, offline)"); return
            }
            record(node!.setPresence(agent, p))
            return
        case "create":
            let requester = map(fields["requester"]?.value ?? .map([], v.position))
            var tags: [String] = []
            if let t = fields["tags"]?.value, case .list(let items, _) = t { tags = items.compactMap(\.scalar) }
            var skills: [String] = []
            if let t = fields["skills"]?.value, case .list(let items, _) = t { skills = items.compactMap(\.scalar) }
            var custom: [String: String] = [:]
            if let f = fields["fields"]?.value, case .map(let items, _) = f { for i in items { custom[i.key] = i.value.scalar } }
            guard let id = s("id") else { problem(v.position, "create needs an id"); return }
            guard let channel = Channel(rawValue: s("channel") ?? "web"), let priority = Priority(rawValue: s("priority") ?? "normal") else {
                problem(v.position, "unknown channel or priority"); return
            }
            command = .create(NewTicket(id: id, subject: s("subject") ?? "Test ticket", description: s("description") ?? "",
                                        requester: Requester(name: requester["name"]?.value.scalar ?? "Requester",
                                                             email: requester["email"]?.value.scalar ?? "requester@example.com",
                                                             organization: requester["organization"]?.value.scalar),
                                        channel: channel, priority: priority, type: s("type"), tags: tags, fields: custom, requiredSkills: skills))
        case "comment":
            command = .comment(ticket: ticket, author: AuthorKind(rawValue: s("author") ?? "agent") ?? .agent,
                               authorName: s("name") ?? s("author") ?? "agent", isPublic: s("public") != "false", body: s("body") ?? "…")
        case "status":
            command = .setStatus(ticket: ticket, status: s("to") ?? "", by: by)
        case "update":
            var changes: [String: String] = [:]
            if let set = fields["set"]?.value, case .map(let items, _) = set { for i in items { changes[i.key] = i.value.scalar ?? "" } }
            do { command = .update(ticket: ticket, changes: try TicketChanges(named: changes), by: by) } catch {
                problem(v.position, error.message); return
            }
        case "escalate": command = .escalate(ticket: ticket, to: s("to"), by: by)
        case "deescalate": command = .deescalate(ticket: ticket, to: s("to"), by: by)
        case "assign": command = .assign(ticket: ticket, agent: s("agent"), by: by)
        case "macro": command = .applyMacro(ticket: ticket, macro: s("name") ?? "", by: by)
        case "expect":
            expect(v)
            return
        default:
            problem(entry.keyPosition, "unknown step '\(entry.key)'; expected one of advance, advance_to, agent, presence, create, comment, status, update, escalate, deescalate, assign, macro, expect")
            return
        }
        if let command { record(node!.execute(command)) }
    }

    mutating func record(_ result: Result<[Event], Rejection>) {
        lastResult = result
        if case .success(let events) = result { stepEvents = events } else { stepEvents = [] }
    }

    mutating func agentStep(_ v: Syntax) {
        let f = map(v)
        guard let id = f["id"]?.value.scalar, let line = f["line"]?.value.scalar else {
            problem(v.position, "an agent needs id and line"); return
        }
        func list(_ k: String) -> [String] {
            if case .list(let items, _)? = f[k]?.value { return items.compactMap(\.scalar) }
            return f[k]?.value.scalar.map { [$0] } ?? []
        }
        let agent = Agent(id: id, name: f["name"]?.value.scalar ?? id, line: line, queues: list("queues"), skills: list("skills"),
                          capacity: f["capacity"]?.value.scalar.flatMap { Int($0) } ?? 5,
                          presence: f["presence"]?.value.scalar.flatMap(Presence.init(rawValue:)) ?? .online)
        if case .failure(let r) = node!.upsert(agent) { problem(v.position, "agent \(id): \(r.message)") }
    }
}
