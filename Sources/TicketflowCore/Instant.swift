/// A point in time: milliseconds since 1970-01-01T00:00:00Z.
///
/// The core never reads a clock; every decision receives an `Instant` from its caller,
/// which is what makes virtual-time simulation and deterministic tests possible.
public struct Instant: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var millis: Int64

    public init(millis: Int64) { self.millis = millis }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.millis < rhs.millis }

    public static func + (lhs: Instant, rhs: TimeSpan) -> Instant { Instant(millis: lhs.millis + rhs.millis) }
    public static func - (lhs: Instant, rhs: TimeSpan) -> Instant { Instant(millis: lhs.millis - rhs.millis) }
    public static func - (lhs: Instant, rhs: Instant) -> TimeSpan { TimeSpan(millis: lhs.millis - rhs.millis) }

    /// Far enough in the future to mean "never", small enough not to overflow when added to.
    public static let distantFuture = Instant(millis: 253_402_300_799_000)  // 9999-12-31T23:59:59Z

    public var description: String { iso8601 }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Written as ISO 8601 text or as milliseconds: not a string means try the number.
        if let text = try? container.decode(String.self) {
            guard let parsed = Instant(iso8601: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 instant: \(text)")
            }
            self = parsed
        } else {
            self.init(millis: try container.decode(Int64.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }
}

/// A length of time in milliseconds; parsed from the DSL's `30m`, `4h`, `2d`, `1h30m`.
public struct TimeSpan: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var millis: Int64

    public init(millis: Int64) { self.millis = millis }
    public static func seconds(_ s: Int64) -> TimeSpan { TimeSpan(millis: s * 1000) }
    public static func minutes(_ m: Int64) -> TimeSpan { TimeSpan(millis: m * 60_000) }
    public static func hours(_ h: Int64) -> TimeSpan { TimeSpan(millis: h * 3_600_000) }
    public static func days(_ d: Int64) -> TimeSpan { TimeSpan(millis: d * 86_400_000) }
    public static let zero = TimeSpan(millis: 0)

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.millis < rhs.millis }
    public static func + (lhs: TimeSpan, rhs: TimeSpan) -> TimeSpan { TimeSpan(millis: lhs.millis + rhs.millis) }
    public static func - (lhs: TimeSpan, rhs: TimeSpan) -> TimeSpan { TimeSpan(millis: lhs.millis - rhs.millis) }

    /// Parses `90s`, `30m`, `4h`, `2d`, `1w` and concatenations such as `1h30m`.
    /// Returns nil for anything else, including an empty string or a bare number.
    public init?(parsing text: String) {
        let units: [Character: Int64] = ["s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000]
        var total: Int64 = 0
        var number: Int64? = nil
        var sawUnit = false
        for ch in text {
            if let digit = ch.wholeNumberValue, ch.isASCII {
                let (mul, o1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (sum, o2) = mul.addingReportingOverflow(Int64(digit))
                if o1 || o2 || sum > 100_000_000 { return nil }
                number = sum
            } else if let unit = units[ch], let n = number {
                total += n * unit
                number = nil
                sawUnit = true
            } else {
                return nil
            }
        }
        guard sawUnit, number == nil else { return nil }
        self.millis = total
    }

    /// The shortest DSL spelling: `1d4h`, `30m`, `0s`.
    public var description: String {
        if millis == 0 { return "0s" }
        var rest = abs(millis)
        var text = millis < 0 ? "-" : ""
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        if rest > 0 { text += "\(rest)ms" }
        return text
    }
}

// MARK: - Civil dates (proleptic Gregorian), used for ISO 8601 text and calendars.

/// A calendar date without a time zone: the unit of business calendars and holidays.
public struct LocalDate: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year; self.month = month; self.day = day
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public init(daysSinceEpoch z0: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var isoWeekday: Int {
        let d = daysSinceEpoch
        return ((d % 7 + 7 + 3) % 7) + 1   // 1970-01-01 was a Thursday
    }

    public func adding(days: Int) -> LocalDate { LocalDate(daysSinceEpoch: daysSinceEpoch + days) }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }

    /// Parses `YYYY-MM-DD`, checking the day exists.
    public init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1...12).contains(m), (1...31).contains(d) else { return nil }
        let date = LocalDate(year: y, month: m, day: d)
        guard LocalDate(daysSinceEpoch: date.daysSinceEpoch) == date else { return nil }
        self = date
    }

    public var description: String {
        func pad(_ v: Int, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let date = LocalDate(parsing: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a date: \(text)")
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension Instant {
    /// `2027-01-04T09:00:00Z`, with `.123` milliseconds only when they are not zero.
    public var iso8601: String {
        let (days, msOfDay) = millis.floorDivided(by: 86_400_000)
        let date = LocalDate(daysSinceEpoch: Int(days))
        let secs = msOfDay / 1000, ms = msOfDay % 1000
        func pad(_ v: Int64, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
        var text = "\(date)T\(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2))"
        if ms != 0 { text += ".\(pad(ms, 3))" }
        return text + "Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM[:SS[.fff]]` followed by `Z` or `±HH:MM`.
    public init?(iso8601 text: String) {
        let chars = Array(text)
        guard chars.count >= 17, chars[10] == "T" || chars[10] == " " else { return nil }
        guard let date = LocalDate(parsing: String(chars[0..<10])) else { return nil }
        var i = 11
        func number(_ n: Int) -> Int? {
            guard i + n <= chars.count else { return nil }
            let v = Int(String(chars[i..<(i + n)]))
            i += n
            return v
        }
        guard let hh = number(2), i < chars.count, chars[i] == ":" else { return nil }
        i += 1
        guard let mm = number(2) else { return nil }
        var ss = 0, ms = 0
        if i < chars.count, chars[i] == ":" {
            i += 1
            guard let s = number(2) else { return nil }
            ss = s
            if i < chars.count, chars[i] == "." {
                i += 1
                var digits = ""
                while i < chars.count, chars[i].isNumber { digits.append(chars[i]); i += 1 }
                guard !digits.isEmpty else { return nil }
                ms = Int((digits + "00").prefix(3)) ?? 0
            }
        }
        guard hh < 24, mm < 60, ss < 60, i < chars.count else { return nil }
        var offsetMinutes = 0
        if chars[i] == "Z" {
            i += 1
        } else if chars[i] == "+" || chars[i] == "-" {
            let sign = chars[i] == "-" ? -1 : 1
            i += 1
            guard let oh = number(2), i < chars.count, chars[i] == ":" else { return nil }
            i += 1
            guard let om = number(2) else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
        } else {
            return nil
        }
        guard i == chars.count else { return nil }
        let seconds = Int64(date.daysSinceEpoch) * 86_400 + Int64(hh * 3600 + mm * 60 + ss) - Int64(offsetMinutes * 60)
        self.init(millis: seconds * 1000 + Int64(ms))
    }
}

extension Int64 {
    /// Floor division and a non-negative remainder, for instants before 1970.
    func floorDivided(by d: Int64) -> (Int64, Int64) {
        let q = self / d, r = self % d
        return r < 0 ? (q - 1, r + d) : (q, r)
    }
}
