import Foundation
import Histogram

/// Everything a storm measures, behind one actor so that request tasks can record freely.
actor StormRecorder {
    private(set) var histograms: [String: Histogram<UInt64>] = [:]
    private(set) var errors: [String: Int] = [:]
    private(set) var rejected: [String: Int] = [:]
    private(set) var succeeded: [String: Int] = [:]
    private(set) var timeline: [StormReport.Second] = []
    private var secondHistogram = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    private var secondCreates = 0
    private var secondErrors = 0
    var createdTickets: [String] = []

    /// Latency in microseconds of one successful operation.
    func success(_ op: String, micros: UInt64) {
        var h = histograms[op] ?? Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        _ = h.record(max(1, micros))
        histograms[op] = h
        succeeded[op, default: 0] += 1
        if op == "create" {
            secondCreates += 1
            _ = secondHistogram.record(max(1, micros))
        }
    }

    /// The node said no for a reason of the workflow (a transition it forbids, say): not an error of the node.
    func rejection(_ op: String, code: String) { rejected["\(op): \(code)", default: 0] += 1 }

    func error(_ kind: String) {
        errors[kind, default: 0] += 1
        secondErrors += 1
    }

    func created(_ id: String) { createdTickets.append(id) }

    /// Closes one second of the timeline and returns it for the progress line.
    func closeSecond(at t: Int, backlog: [String: Int], breaches: Int) -> StormReport.Second {
        let second = StormReport.Second(t: t, creates: secondCreates, errors: secondErrors,
                                        p99Millis: secondCreates == 0 ? 0 : Double(secondHistogram.valueAtPercentile(99)) / 1000,
                                        backlog: backlog, breaches: breaches)
        timeline.append(second)
        secondCreates = 0
        secondErrors = 0
        secondHistogram.reset()
        return second
    }

    func percentiles() -> [String: StormReport.Latency] {
        histograms.mapValues { h in
            StormReport.Latency(count: Int(h.totalCount), p50: Double(h.valueAtPercentile(50)) / 1000, p90: Double(h.valueAtPercentile(90)) / 1000,
                                p99: Double(h.valueAtPercentile(99)) / 1000, p999: Double(h.valueAtPercentile(99.9)) / 1000,
                                max: Double(h.max) / 1000)
        }
    }
}
