import ArgumentParser

/// The `ticketflow` command: run a node; check, test and simulate workflows; back up a node;
/// look at a cluster file.
@main
struct Ticketflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticketflow",
        abstract: "An actor-based ticket workflow engine.",
        subcommands: [Serve.self, Check.self, TestWorkflows.self, Simulate.self, Storm.self, Replay.self, Why.self, Backup.self, ClusterCommand.self]
    )
}
