/// What crosses the network in a distributed call: values that write themselves into the
/// compact wire form and read themselves back. The cluster's actor system uses this as its
/// serialization requirement instead of `Codable`, so a remote call costs a few copies,
/// not a JSON round trip.
public protocol WireCodable: Sendable {
    init(wire: inout WireReader) throws(Envelope.Malformed)
    func encode(to wire: inout WireWriter)
}

extension String: WireCodable {
    public init(wire: inout WireReader) throws(Envelope.Malformed) { self = try wire.string() }
    public func encode(to wire: inout WireWriter) { wire.string(self) }
}

extension Int: WireCodable {
    public init(wire: inout WireReader) throws(Envelope.Malformed) { self = Int(truncatingIfNeeded: try wire.uint()) }
    public func encode(to wire: inout WireWriter) { wire.uint(UInt64(truncatingIfNeeded: self)) }
}

extension Array: WireCodable where Element == UInt8 {
    public init(wire: inout WireReader) throws(Envelope.Malformed) { self = try wire.blob() }
    public func encode(to wire: inout WireWriter) { wire.blob(self) }
}

extension Bool: WireCodable {
    public init(wire: inout WireReader) throws(Envelope.Malformed) {
        switch try wire.uint() {
        case 0: self = false
        case 1: self = true
        case let n: throw Envelope.Malformed(reason: "\(n) is not a truth value")
        }
    }
    public func encode(to wire: inout WireWriter) { wire.uint(self ? 1 : 0) }
}
