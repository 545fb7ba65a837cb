import Foundation
import TicketflowCore

/// The binary layout of the core's values. Enum codes are positions in these lists and are
/// append-only: never reorder or remove an entry once data has been written with it.
enum Codes {
    static let channels: [Channel] = [.email, .web, .chat, .phone, .social, .api]
    static let priorities: [Priority] = [.low, .normal, .high, .urgent]
    static let authors: [AuthorKind] = [.agent, .requester, .system]
    static let metrics: [SLAMetric] = [.firstReply, .nextReply, .periodicUpdate, .resolution]
    static let causes: [Cause.Kind] = [.agent, .requester, .api, .trigger, .automation, .sla, .macro, .system]
    static func index<E: Equatable>(_ v: E, in list: [E]) -> UInt8 { UInt8(list.firstIndex(of: v)!) }
}

/// The format byte at the start of every blob.
let binaryFormat: UInt8 = 1

extension BinaryWriter {
    mutating func instant(_ i: Instant) { int(i.millis) }

    mutating func requester(_ r: Requester) {
        string(r.name); string(r.email); optional(r.organization) { $0.string($1) }
    }

    mutating func comment(_ c: Comment) {
        int(c.id); byte(Codes.index(c.author, in: Codes.authors)); string(c.authorName); bool(c.isPublic); string(c.body); instant(c.at)
    }

    mutating func clock(_ c: SLAClock) {
        string(c.policy); byte(Codes.index(c.metric, in: Codes.metrics)); int(c.target.millis); string(c.calendar)
        instant(c.startedAt); int(c.elapsed.millis); optional(c.runningSince) { $0.instant($1) }; bool(c.isStopped)
        optional(c.due) { $0.instant($1) }; bool(c.warned); optional(c.breachedAt) { $0.instant($1) }
        optional(c.fulfilledAt) { $0.instant($1) }; int(c.escalationLevel)
    }

    mutating func timer(_ t: TimerEntry) {
        instant(t.due)
        switch t.purpose {
        case .slaWarning(let c): byte(0); string(c)
        case .slaBreach(let c): byte(1); string(c)
        case let .slaEscalation(c, level): byte(2); string(c); int(level)
        case .automation(let n): byte(3); string(n)
        case .followUp(let n): byte(4); string(n)
        }
    }

    mutating func ticket(_ t: Ticket) {
        string(t.id); string(t.subject); string(t.description); requester(t.requester)
        byte(Codes.index(t.channel, in: Codes.channels)); byte(Codes.index(t.priority, in: Codes.priorities))
        string(t.status); optional(t.type) { $0.string($1) }; strings(t.tags); map(t.fields) { $0.string($1) }
        strings(t.requiredSkills); int(t.line); string(t.queue); optional(t.assignee) { $0.string($1) }
        varint(UInt64(t.comments.count)); for c in t.comments { comment(c) }
        instant(t.createdAt); instant(t.updatedAt); map(t.enteredStatusAt) { $0.instant($1) }
        map(t.slaClocks) { $0.clock($1) }; map(t.timers) { $0.timer($1) }; strings(t.firedAutomations.sorted())
        int(t.version); string(t.workflowVersion)
    }

    mutating func event(_ e: Event) {
        string(e.ticket); instant(e.at); byte(Codes.index(e.cause.kind, in: Codes.causes)); string(e.cause.name)
        string(e.workflowVersion)
        switch e.change {
        case .created(let t): byte(0); ticket(t)
        case let .fieldChanged(field, from, to): byte(1); string(field); optional(from) { $0.string($1) }; optional(to) { $0.string($1) }
        case let .statusChanged(from, to): byte(2); string(from); string(to)
        case .commented(let c): byte(3); comment(c)
        case let .lineChanged(from, to, queue): byte(4); int(from); int(to); string(queue)
        case .queued(let q): byte(5); string(q)
        case .assigned(let a): byte(6); optional(a) { $0.string($1) }
        case let .slaClockSet(key, c): byte(7); string(key); clock(c)
        case .slaClockRemoved(let k): byte(8); string(k)
        case .slaWarned(let k): byte(9); string(k)
        case .slaBreached(let k): byte(10); string(k)
        case let .slaEscalated(k, level): byte(11); string(k); int(level)
        case let .timerSet(id, entry): byte(12); string(id); timer(entry)
        case .timerCleared(let id): byte(13); string(id)
        case let .timerFired(id, late): byte(14); string(id); int(late.millis)
        case .automationArmed(let n): byte(15); string(n)
        case .automationFired(let n): byte(16); string(n)
        case .notified(let n): byte(17); string(n.id); string(n.recipient); string(n.template); string(n.body)
        case .followUpDue(let n): byte(18); string(n)
        case .note(let n): byte(19); string(n)
        }
    }
}

extension BinaryReader {
    mutating func instant() throws -> Instant { Instant(millis: try int64()) }
    mutating func span() throws -> TimeSpan { TimeSpan(millis: try int64()) }

    mutating func requester() throws -> Requester {
        Requester(name: try string(), email: try string(), organization: try optional { try $0.string() })
    }

    mutating func comment() throws -> Comment {
        Comment(id: try int(), author: try code(Codes.authors, "author"), authorName: try string(), isPublic: try bool(),
                body: try string(), at: try instant())
    }

    mutating func clock() throws -> SLAClock {
        var c = SLAClock(policy: try string(), metric: try code(Codes.metrics, "SLA clock"), target: try span(), calendar: try string(),
                         startedAt: try instant())
        c.elapsed = try span()
        c.runningSince = try optional { try $0.instant() }
        c.isStopped = try bool()
        c.due = try optional { try $0.instant() }
        c.warned = try bool()
        c.breachedAt = try optional { try $0.instant() }
        c.fulfilledAt = try optional { try $0.instant() }
        c.escalationLevel = try int()
        return c
    }

    mutating func timer() throws -> TimerEntry {
        let due = try instant()
        let purpose: TimerPurpose
        switch try byte() {
        case 0: purpose = .slaWarning(clock: try string())
        case 1: purpose = .slaBreach(clock: try string())
        case 2: purpose = .slaEscalation(clock: try string(), level: try int())
        case 3: purpose = .automation(name: try string())
        case 4: purpose = .followUp(note: try string())
        case let c: throw Malformed(description: "unknown timer purpose \(c)")
        }
        return TimerEntry(due: due, purpose: purpose)
    }

    mutating func ticket() throws -> Ticket {
        var t = Ticket(id: try string(), subject: try string(), description: try string(), requester: try requester(),
                       channel: try code(Codes.channels, "channel"), priority: try code(Codes.priorities, "priority"),
                       status: try string(), createdAt: Instant(millis: 0))
        t.type = try optional { try $0.string() }
        t.tags = try strings()
        t.fields = try map { try $0.string() }
        t.requiredSkills = try strings()
        t.line = try int()
        t.queue = try string()
        t.assignee = try optional { try $0.string() }
        let n = try count()
        t.comments.reserveCapacity(n)
        for _ in 0..<n { t.comments.append(try comment()) }
        t.createdAt = try instant()
        t.updatedAt = try instant()
        t.enteredStatusAt = try sortedMap { try $0.instant() }
        t.slaClocks = try sortedMap { try $0.clock() }
        t.timers = try sortedMap { try $0.timer() }
        t.firedAutomations = Set(try strings())
        t.version = try int()
        t.workflowVersion = try string()
        return t
    }

    mutating func event() throws -> Event {
        let ticketID = try string(), at = try instant()
        let cause = Cause(try code(Codes.causes, "cause"), try string())
        let workflowVersion = try string()
        let change: Change
        switch try byte() {
        case 0: change = .created(try ticket())
        case 1: change = .fieldChanged(field: try string(), from: try optional { try $0.string() }, to: try optional { try $0.string() })
        case 2: change = .statusChanged(from: try string(), to: try string())
        case 3: change = .commented(try comment())
        case 4: change = .lineChanged(from: try int(), to: try int(), queue: try string())
        case 5: change = .queued(queue: try string())
        case 6: change = .assigned(agent: try optional { try $0.string() })
        case 7: change = .slaClockSet(key: try string(), clock: try clock())
        case 8: change = .slaClockRemoved(key: try string())
        case 9: change = .slaWarned(key: try string())
        case 10: change = .slaBreached(key: try string())
        case 11: change = .slaEscalated(key: try string(), level: try int())
        case 12: change = .timerSet(id: try string(), entry: try timer())
        case 13: change = .timerCleared(id: try string())
        case 14: change = .timerFired(id: try string(), lateBy: try span())
        case 15: change = .automationArmed(name: try string())
        case 16: change = .automationFired(name: try string())
        case 17: change = .notified(Notification(id: try string(), recipient: try string(), template: try string(), body: try string()))
        case 18: change = .followUpDue(note: try string())
        case 19: change = .note(try string())
        case let c: throw Malformed(description: "unknown change code \(c)")
        }
        return Event(ticket: ticketID, at: at, cause: cause, change: change, workflowVersion: workflowVersion)
    }
}

/// Encoding and decoding of whole blobs, with the format byte.
enum Blob {
    static func encode(_ ticket: Ticket) -> Data {
        var w = BinaryWriter(capacity: 1024)
        w.byte(binaryFormat)
        w.ticket(ticket)
        return w.data
    }

    static func encode(_ event: Event) -> Data {
        var w = BinaryWriter(capacity: 128)
        w.byte(binaryFormat)
        w.event(event)
        return w.data
    }

    static func ticket(_ data: Data) throws -> Ticket { try decode(data, "a ticket") { try $0.ticket() } }
    static func event(_ data: Data) throws -> Event { try decode(data, "an event") { try $0.event() } }

    /// Reads one value of the current format that fills the whole blob.
    private static func decode<T>(_ data: Data, _ what: String, _ read: (inout BinaryReader) throws -> T) throws -> T {
        try data.withUnsafeBytes { bytes in
            var r = BinaryReader(bytes)
            try checkFormat(&r)
            let value = try read(&r)
            guard r.isAtEnd else { throw BinaryReader.Malformed(description: "trailing bytes after \(what)") }
            return value
        }
    }

    private static func checkFormat(_ r: inout BinaryReader) throws {
        let f = try r.byte()
        guard f == binaryFormat else { throw BinaryReader.Malformed(description: "unknown format \(f)") }
    }
}
