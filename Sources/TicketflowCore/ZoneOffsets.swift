import Foundation
import Synchronization

/// A time zone's UTC offsets, memoized per day.
///
/// Looking an offset up in the time zone database cost more than the rest of SLA arithmetic
/// together. Almost every day has one offset from start to end; for those the memo answers,
/// and only on days with a DST change is the database asked. The memos only hold values of
/// a pure function of their keys, so sharing them (one instance per zone, for the whole
/// process) changes no result; they are bounded and simply cleared when full.
final class ZoneOffsets: Sendable {
    let zone: TimeZone
    /// UTC day → the offset in force during the whole UTC day, or nil when it changes that day.
    private let byUTCDay = Mutex<[Int: Int64?]>([:])
    /// Local day → the offset in force from local midnight to the next, or nil when it changes.
    private let byLocalDay = Mutex<[Int: Int64?]>([:])
    private static let memoLimit = 100_000

    private init(zone: TimeZone) { self.zone = zone }

    private static let instances = Mutex<[String: ZoneOffsets]>([:])

    /// The shared memo of a zone.
    static func of(_ zone: TimeZone) -> ZoneOffsets {
        instances.withLock { all in
            if let known = all[zone.identifier] { return known }
            let made = ZoneOffsets(zone: zone)
            all[zone.identifier] = made
            return made
        }
    }

    /// The offset at an instant, from the time zone database.
    static func offset(_ zone: TimeZone, at ms: Int64) -> Int64 {
        Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(ms) / 1000))) * 1000
    }

    /// The offset in force at a UTC instant.
    func offset(at ms: Int64) -> Int64 {
        let (day, _) = ms.floorDivided(by: BusinessCalendar.dayMillis)
        let key = Int(day)
        if let hit = byUTCDay.withLock({ $0[key] }), let steady = hit { return steady }
        let start = day * BusinessCalendar.dayMillis
        let first = Self.offset(zone, at: start), last = Self.offset(zone, at: start + BusinessCalendar.dayMillis - 1)
        let steady: Int64? = first == last ? first : nil
        byUTCDay.withLock { memo in
            if memo.count > Self.memoLimit { memo.removeAll(keepingCapacity: true) }
            memo[key] = steady
        }
        return steady ?? Self.offset(zone, at: ms)
    }

    /// The offset in force for the whole local day, or nil when it changes during the day.
    func steadyOffset(localDay day: Int) -> Int64? {
        if let hit = byLocalDay.withLock({ $0[day] }) { return hit }
        let midnight = Int64(day) * BusinessCalendar.dayMillis
        let a = Self.offset(zone, at: midnight - Self.offset(zone, at: midnight))
        let nextMidnight = midnight + BusinessCalendar.dayMillis
        let b = Self.offset(zone, at: nextMidnight - Self.offset(zone, at: nextMidnight))
        let steady: Int64? = a == b ? a : nil
        byLocalDay.withLock { memo in
            if memo.count > Self.memoLimit { memo.removeAll(keepingCapacity: true) }
            memo[day] = steady
        }
        return steady
    }
}
