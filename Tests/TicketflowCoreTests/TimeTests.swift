import Testing
@testable import TicketflowCore

@Suite struct TimeTests {
    @Test func parsesAndPrintsInstants() {
        let t = Instant(iso8601: "2027-01-04T09:00:00Z")!
        #expect(t.iso8601 == "2027-01-04T09:00:00Z")
        #expect(Instant(iso8601: "2027-01-04T12:00:00+03:00") == t)
        #expect(Instant(iso8601: "2027-01-04T09:00:00.250Z")!.millis == t.millis + 250)
        #expect(Instant(iso8601: "1969-12-31T23:59:59Z")!.millis == -1000)
        #expect(Instant(iso8601: "2027-02-30T09:00:00Z") == nil)
        #expect(Instant(iso8601: "yesterday") == nil)
    }

    @Test func parsesDurations() {
        #expect(TimeSpan(parsing: "30m") == .minutes(30))
        #expect(TimeSpan(parsing: "1h30m") == .minutes(90))
        #expect(TimeSpan(parsing: "2d") == .days(2))
        #expect(TimeSpan(parsing: "1w")?.millis == TimeSpan.days(7).millis)
        for bad in ["", "30", "m", "3x", "1h30", "-5m"] { #expect(TimeSpan(parsing: bad) == nil, "\(bad)") }
        #expect(TimeSpan.minutes(90).description == "1h30m")
    }

    @Test func civilDates() {
        #expect(LocalDate(parsing: "2027-01-04")!.isoWeekday == 1)  // Monday
        #expect(LocalDate(parsing: "2027-01-10")!.isoWeekday == 7)
        #expect(LocalDate(parsing: "2028-02-29") != nil)
        #expect(LocalDate(parsing: "2027-02-29") == nil)
        let d = LocalDate(parsing: "2027-12-31")!
        #expect(d.adding(days: 1).description == "2028-01-01")
    }
}
