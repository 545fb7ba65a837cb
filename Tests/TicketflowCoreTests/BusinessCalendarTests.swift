import Foundation
import Testing
@testable import TicketflowCore

/// SLA arithmetic over business calendars: weekends, holidays, time zones, DST, pauses, boundaries.
@Suite struct BusinessCalendarTests {
    func calendar(_ zone: String, _ hours: [Int: [MinuteRange]], holidays: [String] = []) -> BusinessCalendar {
        BusinessCalendar(name: "office", timeZone: TimeZone(identifier: zone)!, weeklyHours: hours,
                         holidays: Set(holidays.map { LocalDate(parsing: $0)! }))
    }
    var nineToSix: [Int: [MinuteRange]] { Dictionary(uniqueKeysWithValues: (1...5).map { ($0, [MinuteRange(start: 540, end: 1080)]) }) }
    func at(_ s: String) -> Instant { Instant(iso8601: s)! }

    @Test func alwaysOpenIsPlainArithmetic() {
        #expect(BusinessCalendar.alwaysOpen.adding(.hours(4), to: at("2027-01-02T22:00:00Z")) == at("2027-01-03T02:00:00Z"))
    }

    @Test func skipsTheWeekend() {
        let cal = calendar("UTC", nineToSix)
        // Friday 16:00 + 4h business = Monday 11:00.
        #expect(cal.adding(.hours(4), to: at("2027-01-08T16:00:00Z")) == at("2027-01-11T11:00:00Z"))
        #expect(cal.businessTime(from: at("2027-01-08T16:00:00Z"), to: at("2027-01-11T11:00:00Z")) == .hours(4))
    }

    @Test func startOutsideHoursBeginsAtOpening() {
        let cal = calendar("UTC", nineToSix)
        #expect(cal.adding(.minutes(30), to: at("2027-01-09T12:00:00Z")) == at("2027-01-11T09:30:00Z"))  // Saturday
        #expect(cal.adding(.minutes(30), to: at("2027-01-11T06:00:00Z")) == at("2027-01-11T09:30:00Z"))
    }

    @Test func targetEndingAtClosingTimeIsDueAtClosingTime() {
        let cal = calendar("UTC", nineToSix)
        #expect(cal.adding(.hours(9), to: at("2027-01-11T09:00:00Z")) == at("2027-01-11T18:00:00Z"))
        #expect(cal.adding(.hours(9) + TimeSpan(millis: 1), to: at("2027-01-11T09:00:00Z")) == at("2027-01-12T09:00:00.001Z"))
    }

    @Test func skipsHolidays() {
        let cal = calendar("UTC", nineToSix, holidays: ["2027-01-11"])
        #expect(cal.adding(.hours(1), to: at("2027-01-08T17:30:00Z")) == at("2027-01-12T09:30:00Z"))
    }

    @Test func followsTheTimeZone() {
        // 09:00-18:00 in Moscow (UTC+3) is 06:00-15:00 UTC.
        let cal = calendar("Europe/Moscow", nineToSix)
        #expect(cal.adding(.hours(2), to: at("2027-01-11T05:00:00Z")) == at("2027-01-11T08:00:00Z"))
        #expect(cal.adding(.hours(1), to: at("2027-01-11T14:30:00Z")) == at("2027-01-12T06:30:00Z"))
    }

    @Test func handlesDaylightSavingChanges() {
        // Berlin switches to summer time on 2027-03-28 (a Sunday): 09:00 local is 08:00 UTC
        // on Friday the 26th and 07:00 UTC on Monday the 29th.
        let cal = calendar("Europe/Berlin", nineToSix)
        #expect(cal.adding(.hours(10), to: at("2027-03-26T08:00:00Z")) == at("2027-03-29T08:00:00Z"))
        // A 24x7 calendar in a DST zone still counts elapsed time, not wall-clock hours.
        let open = calendar("Europe/Berlin", Dictionary(uniqueKeysWithValues: (1...7).map { ($0, [MinuteRange(start: 0, end: 1440)]) }))
        #expect(open.adding(.hours(24), to: at("2027-03-27T12:00:00Z")) == at("2027-03-28T12:00:00Z"))
        #expect(open.businessTime(from: at("2027-03-27T23:00:00Z"), to: at("2027-03-28T03:00:00Z")) == .hours(4))
    }

    @Test func pausedClockResumesWithTheRemainingTime() {
        let cal = calendar("UTC", nineToSix)
        var clock = SLAClock(policy: "p", metric: .resolution, target: .hours(4), calendar: "office", startedAt: at("2027-01-11T09:00:00Z"))
        clock.recomputeDue(calendar: cal)
        #expect(clock.due == at("2027-01-11T13:00:00Z"))
        clock.pause(at: at("2027-01-11T10:00:00Z"), calendar: cal)
        #expect(clock.elapsed == .hours(1))
        #expect(clock.due == nil)
        clock.resume(at: at("2027-01-11T17:00:00Z"), calendar: cal)
        // 3h left from Monday 17:00: 1h on Monday, 2h on Tuesday.
        #expect(clock.due == at("2027-01-12T11:00:00Z"))
    }

    @Test func warningThresholds() {
        #expect(WarnThreshold.percent(75).offset(forTarget: .hours(4)) == .hours(3))
        #expect(WarnThreshold.before(.minutes(15)).offset(forTarget: .hours(1)) == .minutes(45))
    }
}
