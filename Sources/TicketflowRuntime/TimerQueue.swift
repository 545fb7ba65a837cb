import TicketflowCore

/// Pending timers of many tickets, ordered by due instant.
///
/// Timers are data, not sleeping tasks: each costs one heap slot and one map entry.
/// Cancelling or re-scheduling marks the old slot stale instead of searching for it;
/// stale slots are skipped when they reach the top. Ties fire in scheduling order,
/// which keeps simulations deterministic.
public struct TimerQueue: Sendable {
    public struct Due: Hashable, Sendable {
        public var ticket: String
        public var timer: String
        public var due: Instant
    }

    private struct Slot: Sendable {
        var due: Instant
        var sequence: UInt64
        var ticket: String
        var timer: String
    }

    private var heap: [Slot] = []
    /// Live sequence number of each (ticket, timer).
    private var live: [TimerKey: UInt64] = [:]
    private var nextSequence: UInt64 = 0

    private struct TimerKey: Hashable, Sendable { var ticket: String; var timer: String }

    public init() {}

    /// Number of pending (not cancelled, not fired) timers.
    public var count: Int { live.count }

    public mutating func schedule(ticket: String, timer: String, at due: Instant) {
        nextSequence += 1
        live[TimerKey(ticket: ticket, timer: timer)] = nextSequence
        push(Slot(due: due, sequence: nextSequence, ticket: ticket, timer: timer))
        if heap.count > 64 && heap.count > live.count * 4 { compact() }
    }

    public mutating func cancel(ticket: String, timer: String) {
        live[TimerKey(ticket: ticket, timer: timer)] = nil
    }

    /// The earliest pending due instant.
    public mutating func nextDue() -> Instant? {
        dropStale()
        return heap.first?.due
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    public mutating func popDue(at now: Instant) -> Due? {
        dropStale()
        guard let top = heap.first, top.due <= now else { return nil }
        popTop()
        live[TimerKey(ticket: top.ticket, timer: top.timer)] = nil
        return Due(ticket: top.ticket, timer: top.timer, due: top.due)
    }

    private func isLive(_ s: Slot) -> Bool { live[TimerKey(ticket: s.ticket, timer: s.timer)] == s.sequence }

    private mutating func dropStale() {
        while let top = heap.first, !isLive(top) { popTop() }
    }

    private mutating func compact() {
        let kept = heap.filter(isLive)
        heap = []
        heap.reserveCapacity(kept.count)
        for slot in kept { push(slot) }
    }

    private static func before(_ a: Slot, _ b: Slot) -> Bool { (a.due, a.sequence) < (b.due, b.sequence) }

    private mutating func push(_ slot: Slot) {
        heap.append(slot)
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
        var i = 0
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
