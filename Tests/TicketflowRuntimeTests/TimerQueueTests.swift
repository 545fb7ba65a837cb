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

    @Test func ticketIdsComeBackExactlyAsGiven() {
        var q = TimerQueue()
        let ids = ["42", "0", "007", "T1", "+5", "99999999999", "999999999999", "", "ticket ✓"]
        for (i, id) in ids.enumerated() { q.schedule(ticket: id, timer: "sla/p/first_reply/breach", at: t0 + .seconds(Int64(i))) }
        #expect(q.count == ids.count)
        var fired: [String] = []
        while let due = q.popDue(at: t0 + .days(1)) {
            #expect(due.timer == "sla/p/first_reply/breach")
            fired.append(due.ticket)
        }
        #expect(fired == ids)
    }

    @Test func namesAreDroppedWithTheirLastTimerAndReused() {
        var q = TimerQueue()
        // Many tickets come and go (cancelled or fired); what remains is exactly what is live.
        for round in 0..<50 {
            for i in 0..<100 { q.schedule(ticket: "T\(round)-\(i)", timer: "auto/\(i % 3)", at: t0 + .seconds(Int64(i))) }
            for i in 0..<100 where i.isMultiple(of: 2) { q.cancel(ticket: "T\(round)-\(i)", timer: "auto/\(i % 3)") }
            var fired = 0
            while let due = q.popDue(at: t0 + .days(1)) {
                #expect(due.ticket.hasPrefix("T\(round)-") && due.timer.hasPrefix("auto/"))
                fired += 1
            }
            #expect(fired == 50 && q.count == 0)
            #expect(q.namesHeld == 0, "names go with their last timer")
        }
        // A cancel of something never scheduled changes nothing.
        q.cancel(ticket: "ghost", timer: "nothing")
        q.schedule(ticket: "T1", timer: "x", at: t0)
        #expect(q.popDue(at: t0) == TimerQueue.Due(ticket: "T1", timer: "x", due: t0))
    }

    @Test func virtualClockOnlyMovesForward() {
        let clock = VirtualClock(start: t0)
        clock.advance(by: .minutes(5))
        clock.advance(to: t0)
        #expect(clock.now() == t0 + .minutes(5))
    }
}
