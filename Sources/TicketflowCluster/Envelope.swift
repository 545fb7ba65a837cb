import TicketflowCore

/// The frame every cluster message travels in: protocol version, kind, correlation id,
/// sender node, message type and payload, in a compact binary layout.
///
///     [version u8 = 2] [kind u8] [correlation varint] [sender: len varint + utf8]
///     [type: len varint + utf8] [payload: the rest]
///
/// Anything that does not parse — a wrong version, an unknown kind, truncated fields — is
/// rejected by `decode` with a reason; the transport drops and counts it.
public struct Envelope: Equatable, Sendable {
    public enum Kind: UInt8, Sendable { case request = 0, reply = 1, oneWay = 2, heartbeat = 3, failure = 4 }

    /// 2 since a message may carry several envelopes, one per frame (version 1 nodes expected
    /// exactly one); nodes of different versions drop each other's frames as malformed.
    public static let version: UInt8 = 2
    /// Longest sender or type name accepted.
    static let maxNameBytes = 256

    public var kind: Kind
    public var correlation: UInt64
    public var sender: String
    public var type: String
    public var payload: [UInt8]

    public init(kind: Kind, correlation: UInt64, sender: String, type: String, payload: [UInt8] = []) {
        self.kind = kind; self.correlation = correlation; self.sender = sender; self.type = type; self.payload = payload
    }

    public func encode() -> [UInt8] {
        var out: [UInt8] = [Envelope.version, kind.rawValue]
        out.reserveCapacity(16 + sender.utf8.count + type.utf8.count + payload.count)
        Envelope.varint(correlation, into: &out)
        for s in [sender, type] {
            Envelope.varint(UInt64(s.utf8.count), into: &out)
            out.append(contentsOf: s.utf8)
        }
        out.append(contentsOf: payload)
        return out
    }

    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public init(reason: String) { self.reason = reason }
        init(_ varint: Varint.Malformed) { reason = varint == .truncated ? "truncated number" : "number too long" }
        public var description: String { reason }
    }

    public static func decode(_ bytes: [UInt8]) throws(Malformed) -> Envelope {
        guard bytes.count >= 5 else { throw Malformed(reason: "frame of \(bytes.count) bytes is too short") }
        guard bytes[0] == version else { throw Malformed(reason: "unknown protocol version \(bytes[0])") }
        guard let kind = Kind(rawValue: bytes[1]) else { throw Malformed(reason: "unknown message kind \(bytes[1])") }
        var i = 2
        func varint() throws(Malformed) -> UInt64 {
            do { return try Varint.read(bytes, at: &i) } catch { throw Malformed(error) }
        }
        func name() throws(Malformed) -> String {
            let n = Int(try varint())
            guard n <= maxNameBytes, i + n <= bytes.count else { throw Malformed(reason: "name runs past the frame") }
            guard let s = String(validating: bytes[i..<(i + n)], as: UTF8.self) else { throw Malformed(reason: "name is not UTF-8") }
            i += n
            return s
        }
        let correlation = try varint()
        let sender = try name()
        let type = try name()
        return Envelope(kind: kind, correlation: correlation, sender: sender, type: type, payload: Array(bytes[i...]))
    }

    static func varint(_ value: UInt64, into out: inout [UInt8]) { Varint.append(value, to: &out) }
}
