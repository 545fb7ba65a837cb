import Foundation

/// Cluster-wide views: the answers of every node that answered, merged into one. Pure
/// functions over the nodes' JSON bodies, so they are tested without a cluster.
enum ClusterViews {
    /// A ticket page: the first `limit` tickets by number across nodes. Ticket numbers are
    /// unique cluster-wide and every node pages by "number after", so merging the nodes'
    /// first pages gives exactly the cluster's first page.
    static func tickets(_ answers: [[String: Any]], limit: Int) -> [String: Any] {
        var all: [[String: Any]] = answers.flatMap { ($0["tickets"] as? [[String: Any]]) ?? [] }
        all.sort { number($0) < number($1) }
        let anyMore = answers.contains { !($0["next_after"] is NSNull) && $0["next_after"] != nil }
        let page = Array(all.prefix(limit))
        let more = anyMore || all.count > limit
        return ["tickets": page, "next_after": more && !page.isEmpty ? (number(page.last!) as Any) : NSNull()]
    }

    /// Queue summaries: waiting counts add up, the longest wait is the longest anywhere.
    static func queues(_ answers: [[String: Any]]) -> [String: Any] {
        var merged: [String: [String: Any]] = [:]
        for queue in answers.flatMap({ ($0["queues"] as? [[String: Any]]) ?? [] }) {
            guard let name = queue["name"] as? String else { continue }
            guard var seen = merged[name] else { merged[name] = queue; continue }
            seen["waiting"] = int(seen["waiting"]) + int(queue["waiting"])
            seen["longest_wait_seconds"] = max(int(seen["longest_wait_seconds"]), int(queue["longest_wait_seconds"]))
            merged[name] = seen
        }
        return ["queues": merged.keys.sorted().map { merged[$0]! }]
    }

    /// One queue's waiting tickets from every node, longest waiting first.
    static func queue(_ answers: [[String: Any]]) -> [String: Any] {
        guard var first = answers.first else { return [:] }
        let waiting = answers.flatMap { ($0["waiting"] as? [[String: Any]]) ?? [] }
        first["waiting"] = waiting.sorted { int($0["waiting_seconds"]) > int($1["waiting_seconds"]) }
        return first
    }

    private static func number(_ ticket: [String: Any]) -> Int64 { Int64(ticket["id"] as? String ?? "") ?? 0 }

    private static func int(_ value: Any?) -> Int {
        switch value {
        case let n as Int: return n
        case let n as Int64: return Int(n)
        case let n as Double: return Int(n)
        case let n as NSNumber: return n.intValue
        default: return 0
        }
    }
}
