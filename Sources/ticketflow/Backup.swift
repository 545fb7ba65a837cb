import ArgumentParser
import Foundation
import TicketflowStorage

/// `ticketflow backup`: a consistent copy of a node's database, safe while the node runs.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Copy a node's SQLite database with SQLite's online backup.")

    @Option(help: "Data directory of the node.") var data = "./data"
    @Argument(help: "Destination file (must not exist).") var destination: String

    func validate() throws {
        guard !FileManager.default.fileExists(atPath: destination) else { throw ValidationError("\(destination) already exists") }
        guard FileManager.default.fileExists(atPath: data + "/ticketflow.sqlite") else { throw ValidationError("no ticketflow.sqlite in \(data)") }
    }

    func run() throws {
        let store = try Store(path: data + "/ticketflow.sqlite", durability: .normal)
        try store.backup(to: destination)
        print("backed up \(data)/ticketflow.sqlite to \(destination)")
    }
}
