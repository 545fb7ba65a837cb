import Foundation
import TicketflowCore
import TicketflowYAML

/// A storm's shape, from a small YAML file (examples in workflows/storms/). Every field has
/// a default, so an empty profile is a valid constant storm.
public struct StormProfile: Sendable, Decodable {
    public enum Pattern: String, Sendable, Decodable, CaseIterable { case constant, poisson, ramp, burst }

    public struct Burst: Sendable, Decodable {
        public var at: String
        public var `for`: String
        public var factor: Double
    }

    public struct Arrivals: Sendable, Decodable {
        public var pattern: Pattern?
        public var rate: Double?
        public var ramp_to: Double?
        public var bursts: [Burst]?

        public init(pattern: Pattern? = nil, rate: Double? = nil, ramp_to: Double? = nil, bursts: [Burst]? = nil) {
            self.pattern = pattern; self.rate = rate; self.ramp_to = ramp_to; self.bursts = bursts
        }
    }

    public struct Mix: Sendable, Decodable {
        public var channel: [String: Double]?
        public var priority: [String: Double]?
        public var organization: [String: Double]?
        public var skills: [String: Double]?
    }

    public struct Agents: Sendable, Decodable {
        public var count: Int?
        public var capacity: Int?
        public var service_time: String?
        public var solve: Double?
        public var escalate: Double?
        public var poll: String?
    }

    public struct Requesters: Sendable, Decodable {
        public var reply: Double?
        public var reply_time: String?
    }

    public var arrivals: Arrivals?
    public var mix: Mix?
    public var agents: Agents?
    public var requesters: Requesters?

    public init() {}

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads and checks a profile file; every problem is named with its field.
    public static func load(path: String) throws -> StormProfile {
        let profile: StormProfile
        do { profile = try YAMLFile.decode(StormProfile.self, at: path) } catch { throw Invalid(description: error.description) }
        try profile.validate(path)
        return profile
    }

    func validate(_ path: String) throws {
        var problems: [String] = []
        func span(_ text: String?, _ field: String) {
            if let text, TimeSpan(parsing: text) == nil { problems.append("\(field): '\(text)' is not a duration such as 30s or 5m") }
        }
        for (i, b) in (arrivals?.bursts ?? []).enumerated() {
            span(b.at, "arrivals.bursts[\(i)].at"); span(b.for, "arrivals.bursts[\(i)].for")
            if b.factor <= 0 { problems.append("arrivals.bursts[\(i)].factor must be positive") }
        }
        if let r = arrivals?.rate, r <= 0 { problems.append("arrivals.rate must be positive") }
        span(agents?.service_time, "agents.service_time"); span(agents?.poll, "agents.poll"); span(requesters?.reply_time, "requesters.reply_time")
        for (field, p) in [("agents.solve", agents?.solve), ("agents.escalate", agents?.escalate), ("requesters.reply", requesters?.reply)] {
            if let p, !(0...1).contains(p) { problems.append("\(field) must be between 0 and 1") }
        }
        for key in (mix?.channel ?? [:]).keys where Channel(rawValue: key) == nil { problems.append("mix.channel: unknown channel '\(key)'") }
        for key in (mix?.priority ?? [:]).keys where Priority(rawValue: key) == nil { problems.append("mix.priority: unknown priority '\(key)'") }
        if !problems.isEmpty { throw Invalid(description: "\(path):\n  " + problems.joined(separator: "\n  ")) }
    }
}

/// The instants at which tickets arrive, from a pattern, a base rate and bursts.
public struct ArrivalPlan: Sendable {
    public var pattern: StormProfile.Pattern
    public var rate: Double
    public var rampTo: Double?
    public var bursts: [(start: Double, end: Double, factor: Double)]
    public var duration: Double

    /// The rate (per second) at `t` seconds into the storm.
    public func rate(at t: Double) -> Double {
        var r = rate
        if pattern == .ramp, let to = rampTo, duration > 0 { r = rate + (to - rate) * min(1, t / duration) }
        for b in bursts where t >= b.start && t < b.end { r *= b.factor }
        return r
    }

    /// Seconds from `t` to the next arrival: fixed gaps for constant and ramp, exponential for
    /// poisson and burst (a Poisson process whose rate changes over time).
    public func gap(after t: Double, rng: inout SplitMix64) -> Double {
        let r = max(rate(at: t), 0.001)
        switch pattern {
        case .constant, .ramp: return 1 / r
        case .poisson, .burst: return rng.exponential(mean: 1 / r)
        }
    }
}
