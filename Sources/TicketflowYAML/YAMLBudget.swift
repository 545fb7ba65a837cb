import CYaml

/// What a YAML document may cost to read. Anchors and aliases let a few lines stand for
/// millions of nodes (the "billion laughs": each list repeating the previous one nine times),
/// and a parser that builds the expanded tree runs out of memory long before it ends. So
/// every YAML file Ticketflow reads (workflows, cluster files, storm profiles) is first walked
/// as libyaml's event stream, which builds nothing, and counted: the nodes it would have after
/// every alias is expanded, how deep it nests and how long it is. A document over any limit is
/// refused at the event that crossed it, before a tree is built.
public struct YAMLBudget: Sendable, Equatable {
    /// The largest file, in bytes.
    public var bytes: Int
    /// The most nodes (scalars, lists and maps) after expanding every alias.
    public var nodes: Int
    /// The deepest nesting of lists and maps.
    public var depth: Int

    public init(bytes: Int = 4 << 20, nodes: Int = 200_000, depth: Int = 64) {
        self.bytes = bytes; self.nodes = nodes; self.depth = depth
    }

    /// The limits for workflow files, cluster files and storm profiles: a large real workflow
    /// (the examples have 1–3 thousand nodes) stays far below them, and reading a document at
    /// the limits takes well under a second.
    public static let standard = YAMLBudget()

    /// A limit a document crossed, and where (1-based line and column; the file's start for size).
    public struct Exceeded: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Limit: String, Sendable { case bytes, nodes, depth }
        public var limit: Limit
        public var line: Int
        public var column: Int
        public var message: String
        public var description: String { "\(line):\(column): \(message)" }
    }

    /// What one walk over a document's events found: a limit crossed (the walk stops there),
    /// and every plain-text key repeated within its mapping (Yams refuses a document at its
    /// first such mapping; this names them all at once).
    public struct Scan: Sendable, Equatable {
        public var exceeded: Exceeded?
        public var duplicates: [YAMLDuplicateKey] = []
    }

    /// Checks `text` against the budget. Syntax errors are not reported here (nil): the parser
    /// that reads the document afterwards reports them with its own words and positions.
    public func check(_ text: String) -> Exceeded? { scan(text).exceeded }

    /// The budget and the repeated keys, in one walk of libyaml's events.
    public func scan(_ text: String) -> Scan {
        let utf8 = Array(text.utf8)
        guard utf8.count <= bytes else {
            return Scan(exceeded: Exceeded(limit: .bytes, line: 1, column: 1, message: "the file has \(utf8.count) bytes; at most \(bytes) are allowed"))
        }
        return utf8.withUnsafeBufferPointer { walk($0) }
    }

    private func walk(_ buffer: UnsafeBufferPointer<UInt8>) -> Scan {
        var counter = NodeCounter()
        var keys = KeyTracker()
        var found = Scan()
        YAMLEvents.forEach(in: buffer) { event in
            let mark = event.start_mark
            func exceeded(_ limit: Exceeded.Limit, _ message: String) -> Exceeded {
                Exceeded(limit: limit, line: Int(mark.line) + 1, column: Int(mark.column) + 1, message: message)
            }
            switch event.type {
            case YAML_SCALAR_EVENT:
                counter.leaf(size: 1, anchor: YAMLEvents.string(event.data.scalar.anchor))
                if let key = keys.scalar(YAMLEvents.string(event.data.scalar.value)) {
                    found.duplicates.append(YAMLDuplicateKey(key: key, line: Int(mark.line) + 1, column: Int(mark.column) + 1))
                }
            case YAML_SEQUENCE_START_EVENT:
                counter.open(anchor: YAMLEvents.string(event.data.sequence_start.anchor))
                keys.open(mapping: false)
            case YAML_MAPPING_START_EVENT:
                counter.open(anchor: YAMLEvents.string(event.data.mapping_start.anchor))
                keys.open(mapping: true)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                counter.close()
                keys.close()
            case YAML_ALIAS_EVENT:
                // An alias to an anchor not (yet) defined is the parser's error to report.
                counter.leaf(size: YAMLEvents.string(event.data.alias.anchor).flatMap { counter.anchored[$0] } ?? 1, anchor: nil)
                keys.childDone()
            default:
                break
            }
            if counter.depth > depth {
                found.exceeded = exceeded(.depth, "lists and maps nest more than \(depth) levels deep")
            } else if counter.total > nodes {
                found.exceeded = exceeded(.nodes, "the document would have more than \(nodes) nodes once its aliases are expanded")
            }
            return found.exceeded == nil
        }
        return found
    }
}

/// A key given twice in one mapping, where its second occurrence stands (1-based).
public struct YAMLDuplicateKey: Sendable, Equatable {
    public var key: String
    public var line: Int
    public var column: Int
}

/// The keys of each open mapping, to find one given twice: one frame per open collection
/// (for a mapping, its keys so far and whether its next child is a key).
private struct KeyTracker {
    private var frames: [(isMapping: Bool, expectingKey: Bool, keys: Set<String>)] = []

    /// A scalar: the key, when it is a key its mapping already had.
    mutating func scalar(_ value: String?) -> String? {
        defer { childDone() }
        guard let top = frames.last, top.isMapping, top.expectingKey, let value else { return nil }
        return frames[frames.count - 1].keys.insert(value).inserted ? nil : value
    }

    mutating func open(mapping: Bool) { frames.append((mapping, mapping, [])) }

    mutating func close() {
        frames.removeLast()
        childDone()
    }

    /// A child of the open collection is complete: in a mapping, keys and values alternate.
    mutating func childDone() {
        guard !frames.isEmpty, frames[frames.count - 1].isMapping else { return }
        frames[frames.count - 1].expectingKey.toggle()
    }
}

/// Counts a document's nodes as they would be after alias expansion: each open list or map
/// counts its subtree; an anchored node's size is remembered so every alias to it adds that
/// size without being walked again (linear in the text, however large the expansion).
private struct NodeCounter {
    private var open: [(anchor: String?, size: Int)] = []
    private(set) var anchored: [String: Int] = [:]
    /// Expanded nodes so far (saturating: an alias to a huge anchor can only push it over).
    private(set) var total = 0
    var depth: Int { open.count }

    mutating func leaf(size: Int, anchor: String?) {
        if let anchor { anchored[anchor] = size }
        add(size)
    }

    mutating func open(anchor: String?) {
        total = total.addingReportingOverflow(1).overflow ? .max : total + 1
        open.append((anchor, 1))
    }

    mutating func close() {
        guard let node = open.popLast() else { return }
        if let anchor = node.anchor { anchored[anchor] = node.size }
        if !open.isEmpty { open[open.count - 1].size = Self.sum(open[open.count - 1].size, node.size) }
    }

    private mutating func add(_ size: Int) {
        total = Self.sum(total, size)
        if !open.isEmpty { open[open.count - 1].size = Self.sum(open[open.count - 1].size, size) }
    }

    private static func sum(_ a: Int, _ b: Int) -> Int {
        let (s, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : s
    }
}
