import ArgumentParser

/// The `ticketflow` command: check, test and simulate workflows.
@main
struct Ticketflow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticketflow",
        abstract: "An actor-based ticket workflow engine.",
        subcommands: [Check.self, TestWorkflows.self, Simulate.self]
    )
}
