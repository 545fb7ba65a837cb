import Foundation

/// Opening hours within one local day, in minutes after midnight (`end` may be 1440).
public struct MinuteRange: Hashable, Codable, Sendable {
    public var start, end: Int
    public init(start: Int, end: Int) { self.start = start; self.end = end }
}

/// A business calendar: weekly hours in a time zone, minus holidays; or `24x7`.
///
/// SLA targets are business time: "4h" on a 09:00–18:00 calendar that starts Friday
/// 16:00 is due Monday 11:00. All arithmetic is exact to the millisecond, follows the
/// time zone's DST rules, and is pure (time zone data is read, the clock never is).
public struct BusinessCalendar: Hashable, Codable, Sendable {
    /// Everything in one immutable object: copying a calendar (the engine does it for every
    /// SLA computation) is one reference count, not seven.
    private var storage: Storage

    public var name: String {
        get { storage.name }
        set { storage = Storage(name: newValue, timeZone: timeZone, weeklyHours: weeklyHours, holidays: holidays, isAlwaysOpen: isAlwaysOpen) }
    }
    public var timeZone: TimeZone {
        get { storage.timeZone }
        set { storage = Storage(name: name, timeZone: newValue, weeklyHours: weeklyHours, holidays: holidays, isAlwaysOpen: isAlwaysOpen) }
    }
    /// ISO weekday (1 = Monday … 7 = Sunday) → opening ranges, sorted and disjoint.
    public var weeklyHours: [Int: [MinuteRange]] {
        get { storage.weeklyHours }
        set { storage = Storage(name: name, timeZone: timeZone, weeklyHours: newValue, holidays: holidays, isAlwaysOpen: isAlwaysOpen) }
    }
    public var holidays: Set<LocalDate> {
        get { storage.holidays }
        set { storage = Storage(name: name, timeZone: timeZone, weeklyHours: weeklyHours, holidays: newValue, isAlwaysOpen: isAlwaysOpen) }
    }
    public var isAlwaysOpen: Bool {
        get { storage.isAlwaysOpen }
        set { storage = Storage(name: name, timeZone: timeZone, weeklyHours: weeklyHours, holidays: holidays, isAlwaysOpen: newValue) }
    }

    public init(name: String, timeZone: TimeZone, weeklyHours: [Int: [MinuteRange]], holidays: Set<LocalDate> = []) {
        storage = Storage(name: name, timeZone: timeZone, weeklyHours: weeklyHours, holidays: holidays, isAlwaysOpen: false)
    }

    /// The calendar named `24x7`: every millisecond counts.
    public static let alwaysOpen: BusinessCalendar = {
        var c = BusinessCalendar(name: "24x7", timeZone: TimeZone(identifier: "UTC")!, weeklyHours: [:])
        c.isAlwaysOpen = true
        return c
    }()

    /// Longest search for open time: a calendar open less than once in ten years is broken.
    static let searchLimitDays = 3660
    static let dayMillis: Int64 = 86_400_000

    /// The local calendar date at an instant.
    public func localDate(at instant: Instant) -> LocalDate { LocalDate(daysSinceEpoch: localDay(at: instant)) }

    /// The instant of a local wall-clock time; a time skipped by DST maps past the gap.
    public func instant(of date: LocalDate, minute: Int) -> Instant { instant(ofDay: date.daysSinceEpoch, minute: minute) }

    /// The open intervals of one local day, as instants.
    public func openIntervals(on date: LocalDate) -> [(start: Instant, end: Instant)] {
        let day = date.daysSinceEpoch
        if storage.holidayDays.contains(day) { return [] }
        return storage.hours(on: day).map { (instant(ofDay: day, minute: $0.start), instant(ofDay: day, minute: $0.end)) }
    }

    /// The instant at which `span` of business time has elapsed after `start`.
    /// A target that ends exactly at closing time is due at closing time.
    public func adding(_ span: TimeSpan, to start: Instant) -> Instant {
        if isAlwaysOpen || span.millis <= 0 { return start + span }
        var remaining = span.millis
        var day = localDay(at: start) - 1
        for _ in 0..<BusinessCalendar.searchLimitDays {
            if !storage.holidayDays.contains(day) {
                for range in storage.hours(on: day) {
                    let end = instant(ofDay: day, minute: range.end)
                    guard end > start else { continue }
                    let from = max(instant(ofDay: day, minute: range.start), start)
                    let available = end.millis - from.millis
                    if remaining <= available { return Instant(millis: from.millis + remaining) }
                    remaining -= available
                }
            }
            day += 1
        }
        return .distantFuture
    }

    /// Business time between two instants (zero if `end` is not after `start`).
    public func businessTime(from start: Instant, to end: Instant) -> TimeSpan {
        guard end > start else { return .zero }
        if isAlwaysOpen { return end - start }
        var total: Int64 = 0
        let last = localDay(at: end) + 1
        var day = localDay(at: start) - 1
        while day <= last {
            if !storage.holidayDays.contains(day) {
                for range in storage.hours(on: day) {
                    let from = max(instant(ofDay: day, minute: range.start), start)
                    let to = min(instant(ofDay: day, minute: range.end), end)
                    if to > from { total += to.millis - from.millis }
                }
            }
            day += 1
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

    /// The local day (days since 1970-01-01 in the zone) of an instant.
    private func localDay(at instant: Instant) -> Int {
        let (days, _) = (instant.millis + storage.offsets.offset(at: instant.millis)).floorDivided(by: BusinessCalendar.dayMillis)
        return Int(days)
    }

    private func instant(ofDay day: Int, minute: Int) -> Instant {
        let local = Int64(day) * BusinessCalendar.dayMillis + Int64(minute) * 60_000
        // Most days have one UTC offset from midnight to midnight; those are memoized.
        if let offset = storage.offsets.steadyOffset(localDay: day) { return Instant(millis: local - offset) }
        let guess = local - ZoneOffsets.offset(timeZone, at: local)
        return Instant(millis: local - ZoneOffsets.offset(timeZone, at: guess))
    }

    // MARK: Equality, hashing and coding of the fields, not their layout for arithmetic

    public static func == (a: BusinessCalendar, b: BusinessCalendar) -> Bool {
        a.name == b.name && a.timeZone == b.timeZone && a.weeklyHours == b.weeklyHours && a.holidays == b.holidays
            && a.isAlwaysOpen == b.isAlwaysOpen
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name); hasher.combine(timeZone); hasher.combine(weeklyHours); hasher.combine(holidays); hasher.combine(isAlwaysOpen)
    }

    private enum CodingKeys: String, CodingKey { case name, timeZone, weeklyHours, holidays, isAlwaysOpen }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decode(String.self, forKey: .name), timeZone: try c.decode(TimeZone.self, forKey: .timeZone),
                  weeklyHours: try c.decode([Int: [MinuteRange]].self, forKey: .weeklyHours),
                  holidays: try c.decode(Set<LocalDate>.self, forKey: .holidays))
        isAlwaysOpen = try c.decode(Bool.self, forKey: .isAlwaysOpen)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name); try c.encode(timeZone, forKey: .timeZone); try c.encode(weeklyHours, forKey: .weeklyHours)
        try c.encode(holidays, forKey: .holidays); try c.encode(isAlwaysOpen, forKey: .isAlwaysOpen)
    }

    /// The fields, and the same calendar laid out for arithmetic: hours by weekday, holidays
    /// as day numbers, the zone's memoized offsets.
    private final class Storage: Sendable {
        let name: String
        let timeZone: TimeZone
        let weeklyHours: [Int: [MinuteRange]]
        let holidays: Set<LocalDate>
        let isAlwaysOpen: Bool
        /// Opening ranges by ISO weekday (index 0 unused).
        let hoursByWeekday: [[MinuteRange]]
        let holidayDays: Set<Int>
        let offsets: ZoneOffsets

        init(name: String, timeZone: TimeZone, weeklyHours: [Int: [MinuteRange]], holidays: Set<LocalDate>, isAlwaysOpen: Bool) {
            self.name = name; self.timeZone = timeZone; self.weeklyHours = weeklyHours; self.holidays = holidays
            self.isAlwaysOpen = isAlwaysOpen
            hoursByWeekday = (0...7).map { weeklyHours[$0] ?? [] }
            holidayDays = Set(holidays.map(\.daysSinceEpoch))
            offsets = ZoneOffsets.of(timeZone)
        }

        func hours(on day: Int) -> [MinuteRange] { hoursByWeekday[((day % 7 + 7 + 3) % 7) + 1] }  // 1970-01-01 was a Thursday
    }
}
