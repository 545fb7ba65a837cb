/// Tickets waiting in one queue at one priority, in arrival order.
///
/// Removal is O(1): a removed ticket is only forgotten in `members` and skipped when met;
/// the storage is compacted once most of it is dead. (A plain array made removing the head
/// of a long queue a memmove of the whole queue.)
public struct WaitingList: Hashable, Sendable, Sequence {
    private var items: [(id: String, seq: UInt64)] = []
    private var head = 0
    private var members: [String: UInt64] = [:]
    private var nextSeq: UInt64 = 0

    public init() {}

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }

    public mutating func append(_ id: String) {
        nextSeq += 1
        members[id] = nextSeq
        items.append((id, nextSeq))
    }

    public mutating func remove(_ id: String) {
        guard members.removeValue(forKey: id) != nil else { return }
        while head < items.count, members[items[head].id] != items[head].seq { head += 1 }
        if head > 1024 && head * 2 > items.count { compact() }
        else if items.count > 1024 && items.count > members.count * 4 { compact() }
    }

    /// Live ids in arrival order, read one by one (routing stops early; building an array of
    /// a long queue for one assignment cost more than the assignment).
    public struct Iterator: IteratorProtocol {
        fileprivate let list: WaitingList
        fileprivate var index: Int

        public mutating func next() -> String? {
            while index < list.items.count {
                let item = list.items[index]
                index += 1
                if list.members[item.id] == item.seq { return item.id }
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator { Iterator(list: self, index: head) }

    /// Live ids in arrival order, at most `limit`.
    public func ids(limit: Int = .max) -> [String] {
        var out: [String] = []
        var i = head
        while i < items.count && out.count < limit {
            if members[items[i].id] == items[i].seq { out.append(items[i].id) }
            i += 1
        }
        return out
    }

    private mutating func compact() {
        items = items[head...].filter { members[$0.id] == $0.seq }
        head = 0
    }

    public static func == (a: WaitingList, b: WaitingList) -> Bool { a.ids() == b.ids() }
    public func hash(into hasher: inout Hasher) { hasher.combine(ids()) }
}
