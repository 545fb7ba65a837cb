import ArgumentParser
import Foundation
import TicketflowCore
import TicketflowStorm

/// `ticketflow storm`: drive running nodes over their real API with simulated traffic.
struct Storm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Load-test running nodes with a simulated ticket storm.")

    @Option(help: "Node base URLs, comma-separated (load is spread across them).") var target = "http://127.0.0.1:8080"
    @Option(help: "Ticket arrivals per second (overrides the profile's rate).") var rate: Double?
    @Option(help: "How long to create tickets, e.g. 10s, 5m.") var duration = "10s"
    @Option(help: "Storm profile (YAML): arrival pattern, ticket mix, agents, requesters.") var profile: String?
    @Option(help: "Arrival pattern when no profile sets one: constant, poisson, ramp, burst.") var pattern: String?
    @Option(help: "Connections per node.") var connections = 64
    @Option(help: "Stop after this many tickets even if time remains.") var maxTickets = 1_000_000
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Flag(help: "Print the report as JSON.") var json = false
    @Option(help: "Also write a self-contained HTML report with plots.") var html: String?
    @Option(help: "API token (a service account with tickets:read, tickets:write and agents:write); default: $TICKETFLOW_TOKEN.")
    var token: String?

    func validate() throws {
        guard let span = TimeSpan(parsing: duration), span.millis >= 1000, span.millis <= 86_400_000 else {
            throw ValidationError("--duration must be between 1s and 24h, e.g. 30s or 5m")
        }
        if let rate, !(rate > 0 && rate <= 1_000_000) { throw ValidationError("--rate must be between 0 and 1000000") }
        if let pattern, StormProfile.Pattern(rawValue: pattern) == nil { throw ValidationError("--pattern must be constant, poisson, ramp or burst") }
        guard (1...4096).contains(connections) else { throw ValidationError("--connections must be 1…4096") }
        for url in target.split(separator: ",") where !url.hasPrefix("http://") {
            throw ValidationError("targets must be http:// URLs, found \(url)")
        }
    }

    func run() async throws {
        var storm = StormProfile()
        if let profile {
            do { storm = try StormProfile.load(path: profile) } catch {
                FileHandle.standardError.write(Data("ticketflow storm: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
        if let pattern {
            storm.arrivals = storm.arrivals ?? StormProfile.Arrivals()
            storm.arrivals?.pattern = StormProfile.Pattern(rawValue: pattern)
        }
        let effectiveRate = rate ?? storm.arrivals?.rate ?? 100
        var options = StormRunner.Options(targets: target.split(separator: ",").map(String.init), rate: effectiveRate,
                                          duration: TimeSpan(parsing: duration)!, profile: storm)
        options.seed = seed
        options.connections = connections
        options.maxTickets = maxTickets
        options.token = token ?? ProcessInfo.processInfo.environment["TICKETFLOW_TOKEN"]
        if options.token == nil {
            FileHandle.standardError.write(Data("ticketflow storm: no token: give --token or set TICKETFLOW_TOKEN (a service account with tickets:read, tickets:write and agents:write)\n".utf8))
            throw ExitCode(1)
        }
        let report: StormReport
        do {
            report = try await StormRunner(options: options).run { line in
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("ticketflow storm: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if let html { try report.html().write(toFile: html, atomically: true, encoding: .utf8) }
        print(json ? report.json() : report.text(), terminator: json ? "\n" : "")
    }
}
