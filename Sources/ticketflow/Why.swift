import ArgumentParser
import Foundation
import TicketflowAPI
import TicketflowReplay
import TicketflowRuntime

/// `ticketflow why --data DIR --ticket ID [--rule NAME]`: for each step of the ticket's
/// history, the rules considered, their conditions with the values they saw, and what fired.
struct Why: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Explain, step by step, which rules a ticket met and why.")

    @Option(help: "Data directory of the node.") var data = "./data"
    @Option(help: "The ticket to explain.") var ticket: String
    @Option(help: "Only this rule (a trigger, an automation or an SLA policy).") var rule: String?
    @Flag(help: "Print JSON (as GET /api/v1/tickets/{id}/why answers).") var json = false

    func run() throws {
        let store = try openStore(data)
        let events = try store.events(of: ticket)
        guard !events.isEmpty else { throw ValidationError("no ticket \(ticket) in \(data)") }
        let explanation = TicketExplainer.explain(events, workflows: try RecordedWorkflows.load(from: store), rule: rule)
        if json {
            print(String(decoding: JSONOutput.bytes(explanation), as: UTF8.self))
        } else {
            print(explanation.steps.isEmpty ? "no step of ticket \(ticket) involved \(rule.map { "rule \($0)" } ?? "any rule")" : explanation.text)
        }
    }
}
