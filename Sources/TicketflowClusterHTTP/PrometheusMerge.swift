/// Merges the Prometheus text of several nodes into one exposition: every sample gets a
/// `node` label, each metric family keeps one HELP/TYPE header and its samples stay
/// together (as the text format requires), and `ticketflow_cluster_up{node}` says which
/// nodes answered.
enum PrometheusMerge {
    static func merge(_ nodes: [(name: String, text: String?)]) -> String {
        var order: [String] = []
        var headers: [String: [String]] = [:]
        var samples: [String: [String]] = [:]
        for (name, text) in nodes {
            guard let text else { continue }
            var family = ""
            for line in text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) {
                if line.hasPrefix("# ") {
                    let parts = line.split(separator: " ", maxSplits: 3)
                    guard parts.count >= 3 else { continue }
                    family = String(parts[2])
                    if headers[family] == nil { order.append(family); headers[family] = [] }
                    if headers[family]!.count < 2 && !headers[family]!.contains(line) { headers[family]!.append(line) }
                    continue
                }
                if family.isEmpty || !line.hasPrefix(family) {
                    // A sample without a header of its own: its name is its family.
                    family = String(line.prefix { $0 != "{" && $0 != " " })
                    if headers[family] == nil { order.append(family); headers[family] = [] }
                }
                samples[family, default: []].append(labelled(line, node: name))
            }
        }
        var out = ["# HELP ticketflow_cluster_up 1 when the node answered this scrape",
                   "# TYPE ticketflow_cluster_up gauge"]
        for (name, text) in nodes { out.append("ticketflow_cluster_up{node=\"\(name)\"} \(text == nil ? 0 : 1)") }
        for family in order {
            out += headers[family] ?? []
            out += samples[family] ?? []
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// `name{a="b"} 1` → `name{node="n1",a="b"} 1`; `name 1` → `name{node="n1"} 1`.
    static func labelled(_ sample: String, node: String) -> String {
        let label = "node=\"\(node)\""
        if let brace = sample.firstIndex(of: "{") {
            let rest = sample[sample.index(after: brace)...]
            return sample[..<brace] + "{" + label + (rest.hasPrefix("}") ? "" : ",") + rest
        }
        guard let space = sample.firstIndex(of: " ") else { return sample }
        return sample[..<space] + "{" + label + "}" + sample[space...]
    }
}
