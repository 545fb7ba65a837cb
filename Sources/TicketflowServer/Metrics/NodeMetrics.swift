import Foundation
import Prometheus
import TicketflowCore
import TicketflowNode
import TicketflowStorage

/// Prometheus metrics: counters fed by the node as it works, gauges read at scrape time.
final class NodeMetrics: NodeObserver {
    let registry = PrometheusCollectorRegistry()
    private let accepted: Counter
    private let rejectedCounter: Counter
    private let events: Counter
    private let breaches: Counter
    private let commitSeconds: ValueHistogram
    private let batchEvents: ValueHistogram
    private let readErrors: Counter

    init() {
        accepted = registry.makeCounter(descriptor: .named("ticketflow_commands_total", "Commands decided"), labels: [("outcome", "accepted")])
        rejectedCounter = registry.makeCounter(descriptor: .named("ticketflow_commands_total", "Commands decided"), labels: [("outcome", "rejected")])
        events = registry.makeCounter(descriptor: .named("ticketflow_events_total", "Journal events written"))
        breaches = registry.makeCounter(descriptor: .named("ticketflow_sla_breaches_total", "SLA clocks breached"))
        commitSeconds = registry.makeValueHistogram(descriptor: .named("ticketflow_commit_seconds", "Group commit latency"), buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1])
        batchEvents = registry.makeValueHistogram(descriptor: .named("ticketflow_commit_batch_events", "Events per group commit"), buckets: [1, 10, 100, 1000, 10000])
        readErrors = registry.makeCounter(descriptor: .named("ticketflow_metrics_read_errors_total", "Scrapes whose counts could not be read from storage"))
    }

    func accepted(_ batch: [Event]) {
        accepted.increment()
        events.increment(by: Int64(batch.count))
        let b = batch.reduce(0) { if case .slaBreached = $1.change { return $0 + 1 } else { return $0 } }
        if b > 0 { breaches.increment(by: Int64(b)) }
    }

    func rejected(_ code: String) { rejectedCounter.increment() }

    func committed(batchEvents count: Int, seconds: Double) {
        commitSeconds.record(seconds)
        batchEvents.record(Double(count))
    }

    /// The scrape: refreshes gauges from the node and the store, then renders the text format.
    /// A failed count read leaves its gauges as they were and counts the failure: a scrape
    /// still answers, and `ticketflow_metrics_read_errors_total` shows that it is stale.
    func render(node: DurableNode) async -> String {
        let workflow = await node.workflow
        let counts: (tickets: (byStatus: [String: Int], byLine: [String: Int]), outbox: (pending: Int, delivered: Int))?
        do { counts = try await node.counts() } catch {
            readErrors.increment()
            counts = nil
        }
        if let counts = counts?.tickets {
            for status in Set(workflow.statuses).union(counts.byStatus.keys) {
                registry.makeGauge(descriptor: .named("ticketflow_tickets", "Tickets by status"), labels: [("status", status)])
                    .set(Double(counts.byStatus[status] ?? 0))
            }
            for (index, line) in workflow.lines.enumerated() {
                registry.makeGauge(descriptor: .named("ticketflow_tickets_by_line", "Tickets by line"), labels: [("line", line.name)])
                    .set(Double(counts.byLine[String(index)] ?? 0))
            }
        }
        registry.makeGauge(descriptor: .named("ticketflow_timers_pending", "Pending SLA and automation timers")).set(Double(await node.pendingTimers))
        registry.makeGauge(descriptor: .named("ticketflow_tickets_active", "Tickets held in memory")).set(Double(await node.activeTickets))
        if let outbox = counts?.outbox {
            registry.makeGauge(descriptor: .named("ticketflow_outbox_pending", "Notifications not yet delivered")).set(Double(outbox.pending))
        }
        return registry.emitToString()
    }
}

extension MetricNameDescriptor {
    /// A metric named in full (`ticketflow_…`), with its help text.
    static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
