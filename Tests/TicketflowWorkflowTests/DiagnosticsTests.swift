import Foundation
import Testing
import TicketflowCore
@testable import TicketflowWorkflow

/// Golden-file and behaviour tests of the workflow checker.
@Suite struct DiagnosticsTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static let workflows = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("workflows").path

    /// Loads a fixture and shows paths relative to the fixture directory, as `check` run there prints them.
    /// (No chdir: tests run in parallel and the working directory is process-wide.)
    func load(_ name: String) -> WorkflowLoader.Outcome {
        var outcome = WorkflowLoader.load(path: Self.fixtures + "/" + name)
        for i in outcome.diagnostics.indices where outcome.diagnostics[i].file.hasPrefix(Self.fixtures + "/") {
            outcome.diagnostics[i].file.removeFirst(Self.fixtures.count + 1)
        }
        return outcome
    }

    /// Issue 15: every spelling of a warning from the clock's start to its due instant is
    /// accepted (0%, 100%, 0m before); one before the start is a warning, 101% an error.
    @Test func warningThresholdsFromStartToDueAreAccepted() {
        func check(_ warn: String) -> WorkflowLoader.Outcome {
            WorkflowLoader.load(text: """
            workflow: w
            lines: [{name: L1, queue: q1}]
            sla:
              - {name: p, warn_at: "\(warn)", targets: {first_reply: 30m}}
            """)
        }
        for accepted in ["0%", "100%", "0m", "30m", "30m before", "75%"] {
            #expect(check(accepted).diagnostics.isEmpty, "\(accepted): \(check(accepted).diagnostics)")
        }
        #expect(check("45m").warnings.map(\.rule) == ["sla-warning-at-start"])
        #expect(check("45m").workflow != nil)
        #expect(check("101%").errors.map(\.rule) == ["sla"])
    }

    /// What a requester reads (a notification to them, a rule's public comment) may only show
    /// what the requester view shows; texts for staff may show anything.
    @Test func textsForRequestersShowOnlyWhatTheyMaySee() throws {
        let source = """
        workflow: w
        lines: [{name: L1, queue: q1}]
        templates:
          leaky: "{{ticket.subject}} {{ticket.fields.internal}} {{ticket.assignee}}"
          fine: "#{{ticket.id}} {{ticket.subject}} is {{ticket.status}}"
        triggers:
          - {name: a, on: ticket.created, then: [{notify: {to: requester, template: leaky}}]}
          - {name: b, on: ticket.created, then: [{comment: {public: true, body: "tags {{ticket.tags}}"}}]}
          - {name: c, on: ticket.created, then: [{notify: {to: boss@example.com, template: leaky}}, {notify: {to: requester, template: fine}}]}
          - {name: d, on: ticket.created, then: [{comment: {public: false, body: "queue {{ticket.queue}} {{ticket.fields.internal}}"}}]}
        """
        let outcome = WorkflowLoader.load(text: source)
        #expect(outcome.errors.map(\.rule) == ["requester-private-placeholder", "requester-private-placeholder"])
        #expect(outcome.errors.first?.message.contains("{{ticket.fields.internal}}, {{ticket.assignee}}") == true)
        // Rendering for a requester leaves private values out, whatever the check let through.
        let (template, _) = Template.parse("{{ticket.subject}}|{{ticket.fields.internal}}|{{ticket.assignee}}")
        let workflow = try #require(WorkflowLoader.load(text: "workflow: w\nlines: [{name: L1, queue: q1}]\n").workflow)
        var ticket = Ticket(id: "1", subject: "Printer", description: "", requester: Requester(name: "A", email: "a@x"), channel: .web,
                            priority: .low, status: "new", createdAt: Instant(millis: 0))
        ticket.fields = ["internal": "SECRET"]
        ticket.assignee = "bob"
        #expect(template.renderForRequester(ticket, workflow: workflow) == "Printer||")
        #expect(template.render(ticket, workflow: workflow) == "Printer|SECRET|bob")
    }

    @Test func reportsAllFiveMistakesWithLinesAndColumns() throws {
        let outcome = load("five-mistakes.yaml")
        let expected = try String(contentsOfFile: Self.fixtures + "/five-mistakes.expected", encoding: .utf8)
        #expect(outcome.workflow == nil)
        #expect(outcome.errors.count == 5)
        #expect(outcome.diagnostics.map(\.description).joined(separator: "\n") + "\n" == expected)
    }

    /// Issue 15's deeper checks, one finding each, golden: a policy shadowed by one without
    /// `when` and by one with the same condition, an escalation ladder that climbs past the
    /// last line and then down, a policy no ticket meets, two triggers that set each other
    /// off, a status change no admitted status allows, triggers on events never raised, and
    /// a condition that contradicts itself through `changed_to`.
    @Test func deeperChecksFindWhatCanNeverWork() throws {
        let outcome = load("deeper-checks.yaml")
        let expected = try String(contentsOfFile: Self.fixtures + "/deeper-checks.expected", encoding: .utf8)
        #expect(outcome.workflow != nil)
        #expect(outcome.errors.isEmpty)
        #expect(Set(outcome.warnings.map(\.rule)) == ["shadowed-policy", "escalation-ladder", "unreachable-rule", "trigger-cycle", "impossible-action", "unproduced-event"])
        #expect(outcome.diagnostics.map(\.description).joined(separator: "\n") + "\n" == expected)
    }

    /// Every problem in a file at once: every repeated key (Yams stops at the first mapping
    /// with one), every bad item of a list, and a macro cycle beside other errors.
    @Test func everyErrorIsReportedAtOnce() {
        let duplicated = WorkflowLoader.load(text: """
        workflow: w
        workflow: x
        lines: [{name: L1, queue: q, name: L2}]
        """, name: "dup.yaml")
        #expect(duplicated.errors.map(\.description) == ["dup.yaml:2:1: error: duplicate key 'workflow' [duplicate-key]",
                                                          "dup.yaml:3:30: error: duplicate key 'name' [duplicate-key]"])
        let many = WorkflowLoader.load(text: """
        workflow: w
        lines: [{name: L1, queue: q}]
        statuses: [new, {a: b}, [c]]
        triggers:
          - {name: t, on: ticket.created, then: [{set: {status: nope}}]}
        macros:
          - {name: m, then: [{macro: m}]}
        """, name: "many.yaml")
        #expect(many.errors.map(\.rule) == ["type", "type", "unknown-value", "macro-cycle"])
        #expect(many.errors[2].message.hasSuffix("expected one of new"))
    }

    @Test func includedFilesAreMergedAndCheckedWithTheirOwnNames() {
        let outcome = load("with-include.yaml")
        #expect(outcome.errors.count == 1)
        let error = outcome.errors.first
        #expect(error?.file == "parts/rules.yaml")
        #expect(error?.line == 5)
        #expect(error?.rule == "template")
        #expect(error?.message.contains("ticket.requester.nmae") == true)
    }

    @Test func includedSectionsAreAppended() throws {
        let text = try String(contentsOfFile: Self.fixtures + "/with-include.yaml", encoding: .utf8)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-include-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("parts"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try text.write(to: dir.appendingPathComponent("main.yaml"), atomically: true, encoding: .utf8)
        try "triggers:\n  - {name: second, on: ticket.created, then: [{add_tags: [two]}]}\n"
            .write(to: dir.appendingPathComponent("parts/rules.yaml"), atomically: true, encoding: .utf8)
        let outcome = WorkflowLoader.load(path: dir.appendingPathComponent("main.yaml").path)
        let workflow = try #require(outcome.workflow, "\(outcome.diagnostics)")
        #expect(workflow.triggers.map(\.name) == ["first", "second"])
        #expect(workflow.label == "split@2")
    }

    @Test func includeCyclesAreReported() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-cycle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "workflow: a\nlines: [{name: L1, queue: q}]\ninclude: [b.yaml]\n".write(to: dir.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        try "include: [a.yaml]\n".write(to: dir.appendingPathComponent("b.yaml"), atomically: true, encoding: .utf8)
        let outcome = WorkflowLoader.load(path: dir.appendingPathComponent("a.yaml").path)
        #expect(outcome.errors.contains { $0.rule == "include" && $0.message.contains("cycle") })
    }

    @Test func warningsDoNotRejectTheWorkflow() {
        let outcome = load("warnings.yaml")
        #expect(outcome.workflow != nil)
        #expect(Set(outcome.warnings.map(\.rule)) == ["unreachable-status", "unreachable-rule", "conflicting-triggers"])
    }

    @Test func automationsMustBeTimedAndNullifying() {
        let outcome = load("endless-automation.yaml")
        #expect(outcome.workflow == nil)
        #expect(outcome.errors.map(\.rule) == ["automation-nullify", "automation-time"])
    }

    @Test func yamlSyntaxErrorsHavePositions() {
        let outcome = WorkflowLoader.load(text: "workflow: x\nlines: [{name: L1, queue: q}\n", name: "bad.yaml")
        #expect(outcome.errors.count == 1)
        #expect(outcome.errors.first?.rule == "yaml")
        #expect(outcome.errors.first?.line ?? 0 >= 2)
    }

    @Test func unknownPlaceholdersAndTimeZonesAreErrors() {
        let text = """
        workflow: x
        lines: [{name: L1, queue: q}]
        calendars: {office: {timezone: Mars/Olympus, hours: {mon-fri: "09:00-18:00"}}}
        macros:
          - {name: m, then: [{comment: {public: true, body: "Hi {{ticket.requester.nickname}}"}}]}
        """
        let outcome = WorkflowLoader.load(text: text)
        #expect(outcome.errors.map(\.rule).sorted() == ["template", "timezone"])
    }

    @Test func everyExampleWorkflowIsClean() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.workflows).filter { $0.hasSuffix(".yaml") }
        #expect(files.count >= 3)
        for file in files {
            let outcome = WorkflowLoader.load(path: Self.workflows + "/" + file)
            #expect(outcome.diagnostics.isEmpty, "\(file): \(outcome.diagnostics)")
        }
    }
}
