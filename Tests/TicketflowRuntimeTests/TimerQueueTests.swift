import Testing
import TicketflowCore
@testable import TicketflowRuntime

@Suite struct TimerQueueTests {
    let t0 = Instant(millis: 1_000_000)

    @Test func firesInDueOrderWithTiesInSchedulingOrder() {
        var q = TimerQueue()
        q.schedule(ticket: "a", timer: "x", at: t0 + .seconds(5))
        q.schedule(ticket: "b", timer: "x", at: t0 + .seconds(1))
        q.schedule(ticket: "c", timer: "x", at: t0 + .seconds(5))
        #expect(q.nextDue() == t0 + .seconds(1))
        var fired: [String] = []
        while let due = q.popDue(at: t0 + .seconds(10)) { fired.append(due.ticket) }
        #expect(fired == ["b", "a", "c"])
        #expect(q.count == 0)
    }

    @Test func rescheduleAndCancelLeaveOnlyTheLiveTimer() {
        var q = TimerQueue()
        q.schedule(ticket: "a", timer: "breach", at: t0 + .seconds(1))
        q.schedule(ticket: "a", timer: "breach", at: t0 + .seconds(9))   // moved later
        q.schedule(ticket: "b", timer: "warn", at: t0 + .seconds(2))
        q.cancel(ticket: "b", timer: "warn")
        #expect(q.count == 1)
        #expect(q.popDue(at: t0 + .seconds(5)) == nil)
        #expect(q.popDue(at: t0 + .seconds(9))?.due == t0 + .seconds(9))
        #expect(q.nextDue() == nil)
    }

    @Test func manyCancellationsAreCompacted() {
        var q = TimerQueue()
        for i in 0..<10_000 { q.schedule(ticket: "t\(i % 10)", timer: "x", at: t0 + .seconds(Int64(i))) }
        #expect(q.count == 10)
        var fired = 0
        while q.popDue(at: t0 + .days(1)) != nil { fired += 1 }
        #expect(fired == 10)
    }

    @Test func virtualClockOnlyMovesForward() {
        let clock = VirtualClock(start: t0)
        clock.advance(by: .minutes(5))
        clock.advance(to: t0)
        #expect(clock.now() == t0 + .minutes(5))
    }
}
