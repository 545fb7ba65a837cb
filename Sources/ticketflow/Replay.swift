import ArgumentParser
import Foundation
import TicketflowReplay
import TicketflowStorage

/// `ticketflow replay --data DIR [--ticket ID]`: every ticket rebuilt from its journal and
/// compared with its snapshot; exit 1 on any difference. With `--workflow`, the what-if replay.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild tickets from the journal and compare them with their snapshots, or replay recorded traffic through a candidate workflow.")

    @Option(help: "Data directory of the node (it may be running: the replay reads one consistent snapshot).") var data = "./data"
    @Option(help: "Only this ticket.") var ticket: String?

    func run() throws {
        let store = try openStore(data)
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

/// Opens a node's database for reading, with a clear error when there is none.
func openStore(_ data: String) throws -> Store {
    let path = data + "/ticketflow.sqlite"
    guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no ticketflow.sqlite in \(data)") }
    return try Store(path: path, durability: .normal)
}
