import TicketflowCore

/// Pending timers of many tickets, ordered by due instant.
///
/// Timers are data, not sleeping tasks: each costs one 24-byte heap slot and one map entry
/// of 12 bytes (about 60 bytes with the heap's and the map's spare room). Ticket ids that are
/// plain numbers (what the server mints) are kept as numbers; other ticket ids and timer ids
/// are kept once each in a table of names, shared by all timers that use them and dropped
/// with the last of them. Cancelling or re-scheduling marks the old slot stale instead of
/// searching for it; stale slots are skipped when they reach the top. Ties fire in
/// scheduling order, which keeps simulations deterministic. (Keys of two strings each made
/// a timer cost 135–148 bytes.)
public struct TimerQueue: Sendable {
    public struct Due: Hashable, Sendable {
        public var ticket: String
        public var timer: String
        public var due: Instant
    }

    private struct Slot: Sendable {
        var due: Int64
        /// A ticket number, or `internedTicket` plus a name index.
        var ticket: Int64
        var timer: UInt32
        /// Scheduling order (wraps after 2³² schedules; only the order of ties at the wrap is affected).
        var sequence: UInt32
    }

    private var heap: [Slot] = []
    /// False while timers loaded with `load` have been appended in any order: the heap is
    /// built once, when first read (sifting each in cost a restart a fifth of its time).
    private var isHeap = true
    /// Live sequence number of each (ticket, timer) key.
    private var live: [UInt64: UInt32] = [:]
    private var names = NameTable()
    private var nextSequence: UInt32 = 0

    /// Ticket codes at and above this are interned names; below it, ticket numbers.
    private static let internedTicket: Int64 = 1 << 39
    /// Timer name indexes must stay below 2²⁴ to pack with the ticket into one key.
    private static let timerBits: UInt64 = 24

    public init() {}

    /// Makes room for `count` more timers.
    public mutating func reserveCapacity(_ count: Int) {
        heap.reserveCapacity(heap.count + count)
        live.reserveCapacity(live.count + count)
    }

    /// Number of pending (not cancelled, not fired) timers.
    public var count: Int { live.count }

    /// Names held (non-numeric ticket ids and timer ids of pending timers).
    var namesHeld: Int { names.count }

    public mutating func schedule(ticket: String, timer: String, at due: Instant) {
        ensureHeap()
        add(ticket: ticket, timer: timer, at: due)
        push()
        if heap.count > 64 && heap.count > live.count * 4 { compact() }
    }

    /// Schedules a timer while a restart loads many; the heap is put in order when it is next used.
    public mutating func load(ticket: String, timer: String, at due: Instant) {
        add(ticket: ticket, timer: timer, at: due)
        isHeap = heap.count <= 1
    }

    private mutating func add(ticket: String, timer: String, at due: Instant) {
        let ticketCode = Self.number(ticket) ?? Self.internedTicket + Int64(names.index(of: ticket, adding: true)!)
        let timerIndex = names.index(of: timer, adding: true)!
        let key = Self.key(ticketCode, timerIndex)
        nextSequence &+= 1
        if live.updateValue(nextSequence, forKey: key) == nil {
            // A new key: it holds its names until it is gone.
            if ticketCode >= Self.internedTicket { names.retain(UInt32(ticketCode - Self.internedTicket)) }
            names.retain(timerIndex)
        }
        heap.append(Slot(due: due.millis, ticket: ticketCode, timer: timerIndex, sequence: nextSequence))
    }

    public mutating func cancel(ticket: String, timer: String) {
        guard let timerIndex = names.index(of: timer, adding: false) else { return }
        let ticketCode: Int64
        if let number = Self.number(ticket) { ticketCode = number } else {
            guard let index = names.index(of: ticket, adding: false) else { return }
            ticketCode = Self.internedTicket + Int64(index)
        }
        if live.removeValue(forKey: Self.key(ticketCode, timerIndex)) != nil { release(ticketCode, timerIndex) }
    }

    /// The earliest pending due instant.
    public mutating func nextDue() -> Instant? {
        ensureHeap()
        dropStale()
        return heap.first.map { Instant(millis: $0.due) }
    }

    /// The earliest timer if it is due at `now`, left in the queue.
    public mutating func peekDue(at now: Instant) -> Due? {
        ensureHeap()
        dropStale()
        guard let top = heap.first, top.due <= now.millis else { return nil }
        return Due(ticket: ticketID(top.ticket), timer: names.name(top.timer), due: Instant(millis: top.due))
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    public mutating func popDue(at now: Instant) -> Due? {
        ensureHeap()
        dropStale()
        guard let top = heap.first, top.due <= now.millis else { return nil }
        popTop()
        live[Self.key(top.ticket, top.timer)] = nil
        let due = Due(ticket: ticketID(top.ticket), timer: names.name(top.timer), due: Instant(millis: top.due))
        release(top.ticket, top.timer)
        return due
    }

    private mutating func release(_ ticketCode: Int64, _ timerIndex: UInt32) {
        if ticketCode >= Self.internedTicket { names.release(UInt32(ticketCode - Self.internedTicket)) }
        names.release(timerIndex)
    }

    private func ticketID(_ code: Int64) -> String {
        code >= Self.internedTicket ? names.name(UInt32(code - Self.internedTicket)) : String(code)
    }

    /// A minted ticket id (see `TicketNumber`) small enough to pack; anything else is
    /// interned so that the id comes back exactly as given.
    private static func number(_ id: String) -> Int64? {
        guard let number = TicketNumber(id: id), number.value < internedTicket else { return nil }
        return number.value
    }

    private static func key(_ ticketCode: Int64, _ timerIndex: UInt32) -> UInt64 {
        UInt64(ticketCode) << timerBits | UInt64(timerIndex)
    }

    private func isLive(_ s: Slot) -> Bool { live[Self.key(s.ticket, s.timer)] == s.sequence }

    private mutating func dropStale() {
        while let top = heap.first, !isLive(top) { popTop() }
    }

    private mutating func compact() {
        heap = heap.filter(isLive)
        heapify()
    }

    private mutating func ensureHeap() {
        if !isHeap { heapify() }
    }

    /// Puts the whole array in heap order at once (Floyd's method, linear time).
    private mutating func heapify() {
        var i = heap.count / 2 - 1
        while i >= 0 {
            siftDown(i)
            i -= 1
        }
        isHeap = true
    }

    private static func before(_ a: Slot, _ b: Slot) -> Bool {
        a.due != b.due ? a.due < b.due : a.sequence < b.sequence
    }

    /// Sifts the last slot up to its place.
    private mutating func push() {
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard TimerQueue.before(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count, TimerQueue.before(heap[l], heap[m]) { m = l }
            if r < heap.count, TimerQueue.before(heap[r], heap[m]) { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }
}

/// Names kept once each, by index, with the number of live timers using them; a name no
/// timer uses any more is dropped and its index reused.
struct NameTable: Sendable {
    private var names: [String] = []
    private var users: [UInt32] = []
    private var indexes: [String: UInt32] = [:]
    private var free: [UInt32] = []

    /// The name's index; with `adding`, a new name gets one (with no users yet).
    mutating func index(of name: String, adding: Bool) -> UInt32? {
        if let known = indexes[name] { return known }
        guard adding else { return nil }
        let index: UInt32
        if let reused = free.popLast() {
            index = reused
            names[Int(index)] = name
        } else {
            index = UInt32(names.count)
            precondition(index < 1 << 24, "more than 2^24 distinct pending timer names")
            names.append(name)
            users.append(0)
        }
        indexes[name] = index
        return index
    }

    func name(_ index: UInt32) -> String { names[Int(index)] }

    var count: Int { indexes.count }

    mutating func retain(_ index: UInt32) { users[Int(index)] += 1 }

    mutating func release(_ index: UInt32) {
        users[Int(index)] -= 1
        dropIfUnused(index)
    }

    private mutating func dropIfUnused(_ index: UInt32) {
        guard users[Int(index)] == 0, indexes.removeValue(forKey: names[Int(index)]) != nil else { return }
        names[Int(index)] = ""
        free.append(index)
    }
}
