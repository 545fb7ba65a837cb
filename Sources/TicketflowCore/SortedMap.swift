/// A few values by string key, kept in one array sorted by key: a ticket's SLA clocks,
/// timers and status entry instants (a handful each).
///
/// For that size it beats a `Dictionary` on every count that mattered in profiles: no hash
/// table to allocate, copy (a decision copies each map it changes) or keep at three-quarters
/// full, no hashing (keys are compared, and usually share storage with the workflow's own
/// strings), and iteration in key order, which the engine and the binary form want anyway.
public struct SortedMap<Value: Sendable>: Sendable {
    public typealias Element = (key: String, value: Value)
    private var entries: [Element]

    public init() { entries = [] }

    /// From any key–value pairs; a later pair for the same key wins.
    public init<S: Sequence>(_ pairs: S) where S.Element == (key: String, value: Value) {
        entries = []
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    /// The keys, in order.
    public var keys: [String] { entries.map(\.key) }
    /// The values, in key order.
    public var values: [Value] { entries.map(\.value) }

    public subscript(key: String) -> Value? {
        get {
            let i = position(of: key)
            return i < entries.count && entries[i].key == key ? entries[i].value : nil
        }
        set {
            let i = position(of: key)
            let present = i < entries.count && entries[i].key == key
            switch (present, newValue) {
            case (true, let value?): entries[i].value = value
            case (true, nil): entries.remove(at: i)
            case (false, let value?): entries.insert((key, value), at: i)
            case (false, nil): break
            }
        }
    }

    /// Where `key` is or would go: the first entry whose key is not less than it.
    private func position(of key: String) -> Int {
        var low = 0, high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].key < key { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

extension SortedMap: Sequence {
    public func makeIterator() -> IndexingIterator<[Element]> { entries.makeIterator() }
}

extension SortedMap: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, Value)...) {
        self.init(elements.map { (key: $0.0, value: $0.1) })
    }
}

extension SortedMap: Equatable where Value: Equatable {
    public static func == (a: SortedMap, b: SortedMap) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension SortedMap: Hashable where Value: Hashable {
    public func hash(into hasher: inout Hasher) {
        hasher.combine(entries.count)
        for (key, value) in entries { hasher.combine(key); hasher.combine(value) }
    }
}

/// Coded as a dictionary, as the maps it replaced were.
extension SortedMap: Codable where Value: Codable {
    public init(from decoder: any Decoder) throws {
        let dictionary = try [String: Value](from: decoder)
        self.init(dictionary.map { (key: $0.key, value: $0.value) })
    }

    public func encode(to encoder: any Encoder) throws {
        try Dictionary(uniqueKeysWithValues: entries.map { ($0.key, $0.value) }).encode(to: encoder)
    }
}

/// Written like a dictionary: `["key": value, …]`.
extension SortedMap: CustomStringConvertible {
    public var description: String {
        entries.isEmpty ? "[:]" : "[" + entries.map { "\(String(reflecting: $0.key)): \($0.value)" }.joined(separator: ", ") + "]"
    }
}
