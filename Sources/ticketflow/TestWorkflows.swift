import ArgumentParser
import Foundation
import TicketflowRuntime

/// `ticketflow test PATH…`: runs workflow test files (or every `*.yaml` in a directory).
struct TestWorkflows: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "test", abstract: "Run workflow tests on the virtual clock.")

    @Argument(help: "Test files or directories of test files.")
    var paths: [String]

    @Flag(help: "Print passing expectations too.")
    var verbose = false

    func run() throws {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ValidationError("no such file or directory: \(path)")
            }
            if isDirectory.boolValue {
                let names = (try FileManager.default.contentsOfDirectory(atPath: path)).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                files += names.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        var passed = 0, failed = 0
        for file in files {
            let report = WorkflowTestRunner().run(path: file)
            for problem in report.problems { print(problem) }
            for check in report.checks where verbose || !check.passed {
                let p = check.position
                print(check.passed ? "  ok   \(p.file):\(p.line): \(check.description)" : "  FAIL \(p.file):\(p.line): \(check.difference ?? check.description)")
            }
            let bad = report.checks.filter { !$0.passed }.count
            if report.checks.isEmpty && report.problems.isEmpty { print("\(file): no expectations") }
            print("\(report.passed ? "PASS" : "FAIL") \(file): \(report.checks.count - bad)/\(report.checks.count) expectations")
            if report.passed { passed += 1 } else { failed += 1 }
        }
        print("workflow-tests: \(passed) passed, \(failed) failed")
        if failed > 0 || files.isEmpty { throw ExitCode(1) }
    }
}
