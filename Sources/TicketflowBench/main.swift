import Foundation
import TicketflowStorage

// ticketflow-bench: the in-process benchmarks behind `make bench` (bench/run.sh runs them
// with the HTTP ones and writes bench/results/latest.md). Each prints Markdown table rows.
let arguments = Array(CommandLine.arguments.dropFirst())
guard let which = arguments.first else {
    print("usage: ticketflow-bench durable|timers|lateness|memory|simulate|year|restart|replay|peer-process|zmq|json|fsync [N]")
    exit(2)
}
let n = arguments.count > 1 ? Int(arguments[1]) : nil
switch which {
case "durable":
    try await benchDurable(seconds: Double(n ?? 10), durability: .full)
    try await benchDurable(seconds: Double(n ?? 10), durability: .normal)
case "timers": benchTimers(counts: n.map { [$0] } ?? [1_000_000, 10_000_000])
case "lateness": try await benchTimerLateness()
case "memory": benchMemory(count: n ?? 1_000_000)
case "simulate": benchSimulation(days: 30, ticketsPerDay: 2000, agents: 60, label: "30 days × 2,000 tickets/day")
case "year": benchSimulation(days: n ?? 365, ticketsPerDay: 10_000, agents: 300, label: "\(n ?? 365) days × 10,000 tickets/day")
case "restart": try await benchRestart(count: n ?? 1_000_000)
case "replay": try await benchReplay(count: n ?? 1_000_000)
case "peer-process": try await benchPeerProcess(count: n ?? 1000)
case "zmq": try await benchZMQ(seconds: Double(n ?? 3))
case "json": try benchJSON(count: n ?? 200_000)
case "fsync": report("disk fsync rate (4 KiB write + fsync)", "\(format(benchFsync()))/s")
default:
    print("unknown benchmark \(which)")
    exit(2)
}
