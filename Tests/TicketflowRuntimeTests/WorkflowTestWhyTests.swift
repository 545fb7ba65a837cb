import Foundation
import Testing
import TicketflowRuntime

/// A failed expectation in `ticketflow test` shows the evaluations of the rules that could have
/// changed the field, with the values their conditions saw (issue 15).
@Suite struct WorkflowTestWhyTests {
    @Test func aFailedExpectationShowsTheRulesThatWriteItsField() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-why-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }   // a temporary directory
        try """
        workflow: w
        lines: [{name: L1, queue: q1}, {name: L2, queue: q2}]
        triggers:
          - {name: phone-to-l2, on: ticket.created, if: {all: [{priority: urgent}, {channel: phone}]}, then: [{escalate: next_line}]}
          - {name: tag-it, on: ticket.created, then: [{add_tags: [seen]}]}
        """.write(to: dir.appendingPathComponent("w.yaml"), atomically: true, encoding: .utf8)
        try """
        workflow: w.yaml
        start: 2027-01-04T09:00:00Z
        steps:
          - create: {id: T1, priority: urgent, channel: email}
          - expect: {ticket: T1, line: L2, tags: [seen]}
        """.write(to: dir.appendingPathComponent("w.test.yaml"), atomically: true, encoding: .utf8)
        let report = WorkflowTestRunner().run(path: dir.appendingPathComponent("w.test.yaml").path)
        let failed = report.checks.filter { !$0.passed }
        #expect(failed.count == 1 && report.checks.count == 2)
        let difference = try #require(failed.first?.difference)
        #expect(difference.hasPrefix("T1 line: expected L2, got L1\n         why (rules that change line, last steps):"))
        #expect(difference.contains("trigger phone-to-l2: not fired"))
        #expect(difference.contains("✗ channel is phone (channel: email)"))
        #expect(!difference.contains("tag-it"))
    }
}
