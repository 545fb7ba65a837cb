import Foundation

/// What a storm measured. `json()` is for machines; `text()` for people; `html()` is a
/// self-contained page with plots.
public struct StormReport: Codable, Sendable {
    public struct Latency: Codable, Sendable {
        public var count: Int
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var p999: Double
        public var max: Double
    }

    public struct Second: Codable, Sendable {
        public var t: Int
        public var creates: Int
        public var errors: Int
        public var p99Millis: Double
        public var backlog: [String: Int]
        public var breaches: Int
    }

    public var targets: [String]
    public var pattern: String
    public var requestedRate: Double
    public var durationSeconds: Double
    public var ticketsCreated: Int
    public var achievedRate: Double
    public var latencyMillis: [String: Latency]
    public var errors: [String: Int]
    public var rejectedByWorkflow: [String: Int]
    public var slaBreaches: Int
    public var ticketsBreachedNow: Int
    public var agents: Int
    public var timeline: [Second]

    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    public func text() -> String {
        var out = "storm against \(targets.joined(separator: ", ")): \(pattern) at \(Int(requestedRate))/s for \(Int(durationSeconds)) s, \(agents) simulated agents\n"
        out += String(format: "tickets created: %d, achieved %.1f/s\n", ticketsCreated, achievedRate)
        out += "latency (ms)          count      p50      p90      p99    p99.9      max\n"
        for op in latencyMillis.keys.sorted() {
            let l = latencyMillis[op]!
            out += "  " + op.padding(toLength: 16, withPad: " ", startingAt: 0)
                + String(format: "%8d %8.2f %8.2f %8.2f %8.2f %8.2f\n", l.count, l.p50, l.p90, l.p99, l.p999, l.max)
        }
        out += "errors: " + (errors.isEmpty ? "none" : errors.keys.sorted().map { "\($0) ×\(errors[$0]!)" }.joined(separator: ", ")) + "\n"
        if !rejectedByWorkflow.isEmpty {
            out += "rejected by the workflow: " + rejectedByWorkflow.keys.sorted().map { "\($0) ×\(rejectedByWorkflow[$0]!)" }.joined(separator: ", ") + "\n"
        }
        out += "SLA: \(slaBreaches) breaches during the storm, \(ticketsBreachedNow) tickets breached at the end\n"
        if let last = timeline.last {
            out += "backlog at the end: " + last.backlog.keys.sorted().map { "\($0) \(last.backlog[$0]!)" }.joined(separator: ", ") + "\n"
        }
        return out
    }

    /// A self-contained HTML report: latency over time, backlog per line, SLA breaches.
    public func html() -> String {
        let lines = Set(timeline.flatMap { $0.backlog.keys }).sorted()
        let latency = Chart.svg(title: "create latency p99 per second (ms)", series: [("p99", timeline.map { Double($0.p99Millis) })])
        let rate = Chart.svg(title: "tickets created per second", series: [("creates", timeline.map { Double($0.creates) }), ("errors", timeline.map { Double($0.errors) })])
        let backlog = Chart.svg(title: "backlog per line (waiting tickets)", series: lines.map { line in (line, timeline.map { Double($0.backlog[line] ?? 0) }) })
        let breaches = Chart.svg(title: "SLA breaches (cumulative)", series: [("breaches", timeline.map { Double($0.breaches) })])
        let rows = latencyMillis.keys.sorted().map { op -> String in
            let l = latencyMillis[op]!
            return "<tr><td>\(op)</td><td>\(l.count)</td><td>\(String(format: "%.2f", l.p50))</td><td>\(String(format: "%.2f", l.p90))</td><td>\(String(format: "%.2f", l.p99))</td><td>\(String(format: "%.2f", l.p999))</td></tr>"
        }.joined()
        let errorRows = errors.keys.sorted().map { "<tr><td>\(Chart.escape($0))</td><td>\(errors[$0]!)</td></tr>" }.joined()
        return """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ticketflow storm report</title>
        <style>body{font:14px system-ui,sans-serif;margin:24px;color:#222} table{border-collapse:collapse} td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right} td:first-child,th:first-child{text-align:left} svg{margin:12px 0;display:block}</style>
        </head><body>
        <h1>Storm report</h1>
        <p>\(Chart.escape(targets.joined(separator: ", "))) — \(pattern) at \(Int(requestedRate))/s for \(Int(durationSeconds)) s, \(agents) agents.
        Created \(ticketsCreated) tickets (\(String(format: "%.1f", achievedRate))/s); \(slaBreaches) SLA breaches; \(ticketsBreachedNow) tickets breached at the end.</p>
        <table><tr><th>operation</th><th>count</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th></tr>\(rows)</table>
        <h2>Errors</h2><table><tr><th>kind</th><th>count</th></tr>\(errorRows.isEmpty ? "<tr><td>none</td><td>0</td></tr>" : errorRows)</table>
        \(rate)\(latency)\(backlog)\(breaches)
        </body></html>
        """
    }
}

/// Minimal SVG line charts, so the HTML report needs no scripts or network.
enum Chart {
    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func svg(title: String, series: [(String, [Double])]) -> String {
        let width = 720.0, height = 220.0, left = 50.0, bottom = 24.0, top = 24.0
        let count = max(series.map { $0.1.count }.max() ?? 0, 2)
        let maxY = max(series.flatMap { $0.1 }.max() ?? 1, 1)
        func x(_ i: Int) -> Double { left + (width - left - 10) * Double(i) / Double(count - 1) }
        func y(_ v: Double) -> Double { top + (height - top - bottom) * (1 - v / maxY) }
        var out = "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">"
        out += "<text x=\"\(left)\" y=\"16\" font-size=\"13\">\(escape(title))</text>"
        out += "<line x1=\"\(left)\" y1=\"\(y(0))\" x2=\"\(width - 10)\" y2=\"\(y(0))\" stroke=\"#999\"/><line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(y(0))\" stroke=\"#999\"/>"
        out += "<text x=\"4\" y=\"\(top + 4)\" font-size=\"11\">\(String(format: "%.4g", maxY))</text><text x=\"4\" y=\"\(y(0))\" font-size=\"11\">0</text>"
        out += "<text x=\"\(width - 60)\" y=\"\(height - 6)\" font-size=\"11\">\(count - 1) s</text>"
        for (i, (name, values)) in series.enumerated() where !values.isEmpty {
            let points = values.enumerated().map { String(format: "%.1f,%.1f", x($0.offset), y($0.element)) }.joined(separator: " ")
            let color = colors[i % colors.count]
            out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" points=\"\(points)\"/>"
            out += "<text x=\"\(left + 10 + Double(i) * 110)\" y=\"\(height - 6)\" font-size=\"11\" fill=\"\(color)\">\(escape(name))</text>"
        }
        return out + "</svg>"
    }
}
