import ArgumentParser
import Foundation
import TicketflowWorkflow

/// `ticketflow check FILE…`: every diagnostic at once, exit 1 on any error.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate workflow files and print every diagnostic.")

    @Argument(help: "Workflow files to check.")
    var files: [String]
    @Option(name: .customLong("allow-webhook-host"), help: "A webhook host inside the network the node will admit (as serve's option); repeatable.")
    var allowWebhookHost: [String] = []

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one workflow file") }
    }

    func run() throws {
        var failed = false
        for file in files {
            let outcome = WorkflowLoader.load(path: file, allowedWebhookHosts: Set(allowWebhookHost))
            for diagnostic in outcome.diagnostics { print(diagnostic) }
            if let workflow = outcome.workflow {
                print("\(file): ok: workflow \(workflow.label): \(workflow.statuses.count) statuses, \(workflow.lines.count) lines, "
                      + "\(workflow.slaPolicies.count) SLA policies, \(workflow.triggers.count) triggers, "
                      + "\(workflow.automations.count) automations, \(workflow.macros.count) macros, \(outcome.warnings.count) warnings")
            } else {
                failed = true
                print("\(file): \(outcome.errors.count) error\(outcome.errors.count == 1 ? "" : "s"), \(outcome.warnings.count) warning\(outcome.warnings.count == 1 ? "" : "s")")
            }
        }
        if failed { throw ExitCode(1) }
    }
}
