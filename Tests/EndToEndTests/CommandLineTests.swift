import Foundation
import Testing
import TicketflowTesting

/// End-to-end: the real `ticketflow` executable, as users and CI run it.
@Suite struct CommandLineTests {
    let fixtures = TestSupport.packageRoot + "/Tests/TicketflowWorkflowTests/Fixtures"

    @Test func checkReportsEveryMistakeAndExitsOne() throws {
        let out = try TestSupport.run(["check", "five-mistakes.yaml"], in: fixtures)
        #expect(out.status == 1)
        let errors = out.stdout.split(separator: "\n").filter { $0.contains(": error: ") }
        #expect(errors.count == 5)
        let expected = try String(contentsOfFile: fixtures + "/five-mistakes.expected", encoding: .utf8)
        #expect(errors.joined(separator: "\n") + "\n" == expected)
        #expect(out.stdout.contains("five-mistakes.yaml: 5 errors"))
    }

    @Test func checkAcceptsTheExampleWorkflows() throws {
        let out = try TestSupport.run(["check", "workflows/b2c-support.yaml", "workflows/b2b-service-desk.yaml", "workflows/it-desk.yaml"])
        #expect(out.status == 0, "\(out.stdout)")
        #expect(out.stdout.split(separator: "\n").filter { $0.contains(": ok: workflow ") }.count == 3)
        #expect(!out.stdout.contains("error"))
    }

    @Test func checkOfAMissingFileIsAnError() throws {
        let out = try TestSupport.run(["check", "no-such-file.yaml"])
        #expect(out.status == 1)
        #expect(out.stdout.contains("no-such-file.yaml:1:1: error: cannot read file"))
    }

    @Test func workflowTestsPassAndAFailingExpectationFails() throws {
        let ok = try TestSupport.run(["test", "workflows/tests"])
        #expect(ok.status == 0, "\(ok.stdout)")
        #expect(ok.stdout.contains("workflow-tests: 3 passed, 0 failed"))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bad = """
        workflow: \(TestSupport.packageRoot)/workflows/b2c-support.yaml
        start: 2027-01-04T09:00:00Z
        steps:
          - create: {id: T1, subject: "x", priority: urgent, channel: phone}
          - expect: {ticket: T1, line: L1}
        """
        try bad.write(toFile: dir + "/bad.test.yaml", atomically: true, encoding: .utf8)
        let failed = try TestSupport.run(["test", dir + "/bad.test.yaml"])
        #expect(failed.status != 0)
        #expect(failed.stdout.contains("T1 line: expected L1, got L2"))

        // A test file given by its bare name finds its workflow beside it (in the working
        // directory), not at the file system's root.
        try "workflow: bare\nlines: [{name: L1, queue: q1}, {name: L2, queue: q2}]\n".write(toFile: dir + "/wf.yaml", atomically: true, encoding: .utf8)
        let bare = """
        workflow: wf.yaml
        start: 2027-01-04T09:00:00Z
        steps:
          - create: {id: T1, subject: "x"}
          - expect: {ticket: T1, line: L1}
        """
        try bare.write(toFile: dir + "/bare.test.yaml", atomically: true, encoding: .utf8)
        let byName = try TestSupport.run(["test", "bare.test.yaml"], in: dir)
        #expect(byName.status == 0 && byName.stdout.contains("1/1 expectations"), "\(byName.stdout)")
    }

    @Test func simulationIsDeterministicAndMachineReadable() throws {
        let args = ["simulate", "--workflow", "workflows/b2c-support.yaml", "--days", "2", "--tickets-per-day", "300", "--agents", "9", "--seed", "11", "--json"]
        let a = try TestSupport.run(args), b = try TestSupport.run(args)
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stdout == b.stdout)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(a.stdout.utf8)) as? [String: Any])
        #expect((json["ticketsCreated"] as? Int ?? 0) > 300)
        #expect(json["slaCompliance"] is [String: Any])
    }

    @Test func simulateRejectsNonsenseOptions() throws {
        let out = try TestSupport.run(["simulate", "--workflow", "workflows/b2c-support.yaml", "--days", "0"])
        #expect(out.status != 0)
        #expect(out.stderr.contains("--days must be between 1 and 3660"))
    }
}
