import ArgumentParser
import Foundation
import TicketflowCore
import TicketflowReplay
import TicketflowStorm
import TicketflowWorkflow

/// `ticketflow simulate`: weeks of a support center on the virtual clock, in seconds.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Simulate a support center on the virtual clock.")

    @Option(help: "Workflow file.") var workflow: String
    @Option(help: "Days to simulate.") var days = 30
    @Option(name: .customLong("tickets-per-day"), help: "Mean tickets created per day.") var ticketsPerDay = 2000
    @Option(help: "Number of agents (spread over the lines, on 8-hour shifts that follow the arrival curve).") var agents = 40
    @Option(help: "Random seed; the same seed gives the same result.") var seed: UInt64 = 1
    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Also write the simulated journal to this (new) data directory, as a node would: for replay, why and what-if.")
    var record: String?

    func validate() throws {
        guard days > 0, days <= 3660 else { throw ValidationError("--days must be between 1 and 3660") }
        guard ticketsPerDay > 0, ticketsPerDay <= 1_000_000 else { throw ValidationError("--tickets-per-day must be between 1 and 1000000") }
        guard agents > 0, agents <= 100_000 else { throw ValidationError("--agents must be between 1 and 100000") }
    }

    func run() throws {
        let outcome = WorkflowLoader.load(path: workflow)
        guard let wf = outcome.workflow else {
            for d in outcome.diagnostics { FileHandle.standardError.write(Data("\(d)\n".utf8)) }
            throw ExitCode(1)
        }
        let started = Date()
        let simulator = Simulator(workflow: wf, options: .init(days: days, ticketsPerDay: ticketsPerDay, agents: agents, seed: seed))
        let recorder = try record.map {
            try SimulationRecorder(directory: $0, workflow: wf, source: try String(contentsOfFile: workflow, encoding: .utf8),
                                   origin: .file(workflow), at: Simulator.Options(days: days, ticketsPerDay: ticketsPerDay, agents: agents, seed: seed).start)
        }
        let report = simulator.run(progress: { created, expected in
            FileHandle.standardError.write(Data("\rsimulating: \(created)/~\(expected) tickets".utf8))
        }, record: recorder.map { recorder in { events, ticket in recorder.record(events, ticket: ticket) } })
        if let recorder {
            recorder.flush()
            if let failure = recorder.failure { throw ValidationError("recording into \(record!) failed: \(failure)") }
            FileHandle.standardError.write(Data("\rrecorded \(recorder.events) events into \(record!)/ticketflow.sqlite\n".utf8))
        }
        FileHandle.standardError.write(Data(String(format: "\rsimulated in %.1f s                        \n", Date().timeIntervalSince(started)).utf8))
        print(json ? report.json() : report.text(), terminator: json ? "\n" : "")
    }
}
