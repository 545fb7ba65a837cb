import Foundation
import Testing
import TicketflowWorkflow
import TicketflowYAML

/// A workflow file may not cost more than the budget: the "billion laughs" and deep nesting
/// are refused with a diagnostic in milliseconds instead of exhausting the machine.
@Suite struct YAMLBudgetTests {
    /// Nine levels of lists, each repeating the previous one nine times through an alias:
    /// 15 lines that expand to 9⁹ (387 million) scalars.
    static let laughs = (["workflow: laughs", #"a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]"#]
        + zip("bcdefghi", "abcdefgh").map { "\($0): &\($0) [" + Array(repeating: "*\($1)", count: 9).joined(separator: ",") + "]" })
        .joined(separator: "\n")

    @Test func theBillionLaughsAreRefusedAtTheLineThatCrossesTheLimit() {
        let started = Date()
        let outcome = WorkflowLoader.load(text: Self.laughs)
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(outcome.workflow == nil)
        let error = outcome.errors.first
        #expect(error?.rule == "yaml-limit" && error?.line == 7)
        #expect(error?.message == "the document would have more than 200000 nodes once its aliases are expanded")
    }

    @Test func nestingDeeperThanTheBudgetIsRefused() {
        let deep = "workflow: w\nx: " + String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        let outcome = WorkflowLoader.load(text: deep)
        #expect(outcome.errors.map(\.rule) == ["yaml-limit"])
        #expect(outcome.errors.first?.message == "lists and maps nest more than 64 levels deep")
        // Block style counts the same way: 70 maps each inside the previous.
        let block = (0..<70).map { String(repeating: "  ", count: $0) + "k\($0):" }.joined(separator: "\n") + " v"
        #expect(YAMLBudget.standard.check(block)?.limit == .depth)
        #expect(YAMLBudget.standard.check("x: " + String(repeating: "[", count: 63) + String(repeating: "]", count: 63)) == nil)
    }

    @Test func sizeAndNodesAreCountedExactly() {
        let budget = YAMLBudget(bytes: 100, nodes: 10, depth: 3)
        // A map of two entries: the map, two keys, two values = 5 nodes.
        #expect(budget.check("a: 1\nb: 2") == nil)
        // The map, its three keys, an anchored list of 3 (4 nodes) and two aliases standing for
        // that list again: 1 + 3 + 4 + 2 × 4 = 16.
        let aliased = "a: &x [1, 2, 3]\nb: *x\nc: *x"
        #expect(YAMLBudget(bytes: 100, nodes: 15, depth: 3).check(aliased)?.limit == .nodes)
        #expect(YAMLBudget(bytes: 100, nodes: 16, depth: 3).check(aliased) == nil)
        #expect(budget.check(String(repeating: "#", count: 101))?.limit == .bytes)
        // Syntax errors are left to the parser, which names them.
        #expect(budget.check("a: [1, 2") == nil)
        #expect(WorkflowLoader.load(text: "a: [1, 2").errors.first?.rule == "yaml")
    }

    /// Anchors within the budget still work: a designer may share a condition between rules.
    @Test func aliasesWithinTheBudgetAreExpanded() throws {
        let source = """
        workflow: shared
        lines: [{name: L1, queue: q1}]
        triggers:
          - {name: a, on: ticket.created, if: &urgent {priority: urgent}, then: [{add_tags: [hot]}]}
          - {name: b, on: ticket.updated, if: *urgent, then: [{add_tags: [hot]}]}
        """
        let outcome = WorkflowLoader.load(text: source)
        #expect(outcome.errors.isEmpty, "\(outcome.errors)")
        let workflow = try #require(outcome.workflow)
        #expect(workflow.triggers.map(\.condition) == [workflow.triggers[0].condition, workflow.triggers[0].condition])
        #expect(workflow.triggers[0].condition != nil)
    }

    /// Cluster files and storm profiles are read through the same budget.
    @Test func configurationFilesAreReadWithinTheBudget() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("laughs-\(UUID().uuidString).yaml").path
        try Self.laughs.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }   // a temporary file
        struct Anything: Decodable {}
        #expect(throws: YAMLFile.Problem.self) { try YAMLFile.decode(Anything.self, at: path) }
        do { _ = try YAMLFile.decode(Anything.self, at: path) } catch {
            #expect(error.description == "\(path):7:11: the document would have more than 200000 nodes once its aliases are expanded")
        }
    }
}
