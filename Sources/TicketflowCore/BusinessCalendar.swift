import Foundation

/// Opening hours within one local day, in minutes after midnight (`end` may be 1440).
public struct MinuteRange: Hashable, Codable, Sendable {
    public var start: Int
    public var end: Int
    public init(start: Int, end: Int) { self.start = start; self.end = end }
}

/// A business calendar: weekly hours in a time zone, minus holidays; or `24x7`.
///
/// SLA targets are business time: "4h" on a 09:00–18:00 calendar that starts Friday
/// 16:00 is due Monday 11:00. All arithmetic is exact to the millisecond, follows the
/// time zone's DST rules, and is pure (time zone data is read, the clock never is).
public struct BusinessCalendar: Hashable, Codable, Sendable {
    public var name: String
    public var timeZone: TimeZone
    /// ISO weekday (1 = Monday … 7 = Sunday) → opening ranges, sorted and disjoint.
    public var weeklyHours: [Int: [MinuteRange]]
    public var holidays: Set<LocalDate>
    public var isAlwaysOpen: Bool

    public init(name: String, timeZone: TimeZone, weeklyHours: [Int: [MinuteRange]], holidays: Set<LocalDate> = []) {
        self.name = name; self.timeZone = timeZone; self.weeklyHours = weeklyHours
        self.holidays = holidays; self.isAlwaysOpen = false
    }

    /// The calendar named `24x7`: every millisecond counts.
    public static let alwaysOpen: BusinessCalendar = {
        var c = BusinessCalendar(name: "24x7", timeZone: TimeZone(identifier: "UTC")!, weeklyHours: [:])
        c.isAlwaysOpen = true
        return c
    }()

    /// Longest search for open time: a calendar open less than once in ten years is broken.
    static let searchLimitDays = 3660

    /// The local calendar date at an instant.
    public func localDate(at instant: Instant) -> LocalDate {
        let (days, _) = (instant.millis + ZoneOffsets.offset(timeZone, at: instant.millis)).floorDivided(by: 86_400_000)
        return LocalDate(daysSinceEpoch: Int(days))
    }

    /// The instant of a local wall-clock time; a time skipped by DST maps past the gap.
    public func instant(of date: LocalDate, minute: Int) -> Instant {
        let local = Int64(date.daysSinceEpoch) * 86_400_000 + Int64(minute) * 60_000
        // Most days have one UTC offset from midnight to midnight; those are memoized.
        if let offset = ZoneOffsets.shared.steadyOffset(zone: timeZone, day: date.daysSinceEpoch) {
            return Instant(millis: local - offset)
        }
        let guess = local - ZoneOffsets.offset(timeZone, at: local)
        return Instant(millis: local - ZoneOffsets.offset(timeZone, at: guess))
    }

    /// The open intervals of one local day, as instants.
    public func openIntervals(on date: LocalDate) -> [(start: Instant, end: Instant)] {
        if holidays.contains(date) { return [] }
        return (weeklyHours[date.isoWeekday] ?? []).map {
            (instant(of: date, minute: $0.start), instant(of: date, minute: $0.end))
        }
    }

    /// The instant at which `span` of business time has elapsed after `start`.
    /// A target that ends exactly at closing time is due at closing time.
    public func adding(_ span: TimeSpan, to start: Instant) -> Instant {
        if isAlwaysOpen || span.millis <= 0 { return start + span }
        var remaining = span.millis
        var date = localDate(at: start).adding(days: -1)
        for _ in 0..<BusinessCalendar.searchLimitDays {
            for interval in openIntervals(on: date) where interval.end > start {
                let from = max(interval.start, start)
                let available = interval.end.millis - from.millis
                if remaining <= available { return Instant(millis: from.millis + remaining) }
                remaining -= available
            }
            date = date.adding(days: 1)
        }
        return .distantFuture
    }

    /// Business time between two instants (zero if `end` is not after `start`).
    public func businessTime(from start: Instant, to end: Instant) -> TimeSpan {
        guard end > start else { return .zero }
        if isAlwaysOpen { return end - start }
        var total: Int64 = 0
        var date = localDate(at: start).adding(days: -1)
        let last = localDate(at: end).adding(days: 1)
        while date <= last {
            for interval in openIntervals(on: date) {
                let from = max(interval.start, start), to = min(interval.end, end)
                if to > from { total += to.millis - from.millis }
            }
            date = date.adding(days: 1)
        }
        return TimeSpan(millis: total)
    }

    /// Whether the calendar is open at an instant.
    public func isOpen(at instant: Instant) -> Bool {
        if isAlwaysOpen { return true }
        let date = localDate(at: instant)
        return [date.adding(days: -1), date].contains { d in
            openIntervals(on: d).contains { $0.start <= instant && instant < $0.end }
        }
    }
}

/// A memo of UTC offsets per (time zone, local day), for days without a DST change.
///
/// Looking an offset up in the time zone database cost a third of every SLA computation.
/// The memo only ever holds values of a pure function of its key, so sharing it changes no
/// result; it is bounded and simply cleared when full.
final class ZoneOffsets: @unchecked Sendable {
    // @unchecked Sendable: `memo` is only read or written while holding `lock`.
    static let shared = ZoneOffsets()
    private let lock = NSLock()
    private var memo: [Key: Int64?] = [:]

    private struct Key: Hashable { var zone: String; var day: Int }

    static func offset(_ zone: TimeZone, at ms: Int64) -> Int64 {
        Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(ms) / 1000))) * 1000
    }

    /// The offset in force for the whole local day, or nil when it changes during the day.
    func steadyOffset(zone: TimeZone, day: Int) -> Int64? {
        let key = Key(zone: zone.identifier, day: day)
        if let hit = lock.withLock({ memo[key] }) { return hit }
        let midnight = Int64(day) * 86_400_000
        let a = ZoneOffsets.offset(zone, at: midnight - ZoneOffsets.offset(zone, at: midnight))
        let nextMidnight = midnight + 86_400_000
        let b = ZoneOffsets.offset(zone, at: nextMidnight - ZoneOffsets.offset(zone, at: nextMidnight))
        let steady: Int64? = a == b ? a : nil
        lock.withLock {
            if memo.count > 200_000 { memo.removeAll(keepingCapacity: true) }
            memo[key] = steady
        }
        return steady
    }
}
