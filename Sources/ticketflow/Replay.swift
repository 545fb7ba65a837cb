import ArgumentParser
import Foundation
import TicketflowAPI
import TicketflowCore
import TicketflowReplay
import TicketflowStorage
import TicketflowWorkflow

/// `ticketflow replay --data DIR [--ticket ID]`: every ticket rebuilt from its journal and
/// compared with its snapshot; exit 1 on any difference. With `--workflow`, the what-if replay.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild tickets from the journal and compare them with their snapshots, or replay recorded traffic through a candidate workflow.")

    @Option(help: "Data directory of the node (it may be running: the replay reads one consistent snapshot).") var data = "./data"
    @Option(help: "Only this ticket.") var ticket: String?
    @Option(help: "What if: replay the recorded commands through this candidate workflow and report what would have been different.")
    var workflow: String?
    @Option(help: "What if: only tickets created at or after this instant (ISO 8601, e.g. 2027-01-04T00:00:00Z).") var from: String?
    @Option(help: "What if: only tickets created before this instant, and commands before it.") var to: String?
    @Flag(help: "What if: print the report as JSON.") var json = false

    func validate() throws {
        if workflow == nil, from != nil || to != nil || json { throw ValidationError("--from, --to and --json go with --workflow") }
        if workflow != nil, ticket != nil { throw ValidationError("--ticket checks one journal; the what-if replay takes a window (--from, --to)") }
        for (name, value) in [("--from", from), ("--to", to)] where value != nil && Instant(iso8601: value!) == nil {
            throw ValidationError("\(name) must be an ISO 8601 instant such as 2027-01-04T00:00:00Z")
        }
    }

    func run() throws {
        let store = try openStore(data)
        if let workflow { return try whatIf(store: store, candidatePath: workflow) }
        let report = try JournalCheck.run(store: store, ticket: ticket) { done in
            FileHandle.standardError.write(Data("  \(done) tickets replayed\n".utf8))
        }
        for finding in report.findings { print(finding) }
        if report.moreFindings > 0 { print("… and \(report.moreFindings) more") }
        print(report.summary)
        if ticket != nil, report.tickets == 0 { throw ValidationError("no ticket \(ticket!) in \(data)") }
        if !report.findings.isEmpty { throw ExitCode(1) }
    }
}

extension Replay {
    func whatIf(store: Store, candidatePath: String) throws {
        let outcome = WorkflowLoader.load(path: candidatePath)
        guard let candidate = outcome.workflow else {
            for d in outcome.diagnostics { FileHandle.standardError.write(Data("\(d)\n".utf8)) }
            throw ExitCode(1)
        }
        let end = to.flatMap { Instant(iso8601: $0) }
        // The recorded side is the workflow active at the window's end (the latest otherwise).
        let activations = try store.workflowActivations().filter { end == nil || $0.at < end! }
        guard let activation = activations.last else { throw ValidationError("\(data) records no workflow before \(to ?? "now")") }
        guard let recorded = RecordedWorkflows.compile(activation) else {
            throw ValidationError("the recorded workflow \(activation.label) no longer compiles (from \(activation.origin)); check it with ticketflow check")
        }
        let started = Date()
        let report = try WhatIf.run(store: store, recorded: recorded, candidate: candidate,
                                    options: .init(from: from.flatMap { Instant(iso8601: $0) }, to: end)) { step in
            FileHandle.standardError.write(Data("  \(step)\n".utf8))
        }
        FileHandle.standardError.write(Data(String(format: "  compared in %.1f s\n", Date().timeIntervalSince(started)).utf8))
        print(json ? String(decoding: JSONOutput.bytes(report), as: UTF8.self) : report.text())
    }
}

/// Opens a node's database for reading, with a clear error when there is none.
func openStore(_ data: String) throws -> Store {
    let path = data + "/ticketflow.sqlite"
    guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no ticketflow.sqlite in \(data)") }
    return try Store(path: path, durability: .normal)
}
