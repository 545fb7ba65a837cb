/// The number a node gives each ticket it creates, in creation order; the ticket's id is
/// this number written in decimal.
///
/// Why a type: ids are strings everywhere a client or a workflow sees them, but ordering,
/// paging (`after`), partitioning and the store's `number` column need the number. It is
/// minted here, written out here and read back here — in one canonical form (no sign, no
/// leading zero), so an id and a number always convert both ways exactly and an id that
/// merely looks numeric ("007", "+7") is never taken for another ticket's number.
public struct TicketNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: Int64

    public init(_ value: Int64) {
        precondition(value >= 0, "ticket numbers are not negative")
        self.value = value
    }

    /// The number an id stands for, if the id is a minted one (canonical decimal of at most
    /// 18 digits, which cannot overflow); nil for any other id (tickets of a simulation or of
    /// a test may carry names).
    public init?(id: String) {
        let utf8 = id.utf8
        guard !utf8.isEmpty, utf8.count <= 18, utf8.first != UInt8(ascii: "0") || utf8.count == 1 else { return nil }
        var value: Int64 = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        self.value = value
    }

    /// The id of the ticket with this number.
    public var id: String { String(value) }
    /// The number after this one.
    public var next: TicketNumber { TicketNumber(value + 1) }

    public static func < (a: TicketNumber, b: TicketNumber) -> Bool { a.value < b.value }
    public var description: String { id }
}

extension TicketNumber {
    /// The order in which lists show tickets: minted ids by number (creation order), then any
    /// other ids by name. Used wherever tickets from memory, storage or other nodes are merged.
    public static func listsFirst(_ a: String, before b: String) -> Bool {
        switch (TicketNumber(id: a), TicketNumber(id: b)) {
        case let (x?, y?): return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return a < b
        }
    }
}
