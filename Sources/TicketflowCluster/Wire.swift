/// The compact binary layout cluster payloads use: unsigned varints, and strings and byte
/// runs prefixed by their length. `WireReader` checks every length against what is left, so
/// a hostile payload fails with a reason instead of reading out of bounds.
public struct WireWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func uint(_ value: UInt64) { Envelope.varint(value, into: &bytes) }

    public mutating func string(_ text: String) {
        uint(UInt64(text.utf8.count))
        bytes.append(contentsOf: text.utf8)
    }

    public mutating func blob(_ data: [UInt8]) {
        uint(UInt64(data.count))
        bytes.append(contentsOf: data)
    }
}

public struct WireReader {
    private let bytes: [UInt8]
    private var index = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { index == bytes.count }

    public mutating func uint() throws(Envelope.Malformed) -> UInt64 {
        var value: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard index < bytes.count else { throw Envelope.Malformed(reason: "truncated number") }
            let b = bytes[index]
            index += 1
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return value }
            shift += 7
            guard shift < 64 else { throw Envelope.Malformed(reason: "number too long") }
        }
    }

    public mutating func blob() throws(Envelope.Malformed) -> [UInt8] {
        let n = try uint()
        guard n <= UInt64(bytes.count - index) else { throw Envelope.Malformed(reason: "a field runs past the payload") }
        defer { index += Int(n) }
        return Array(bytes[index..<(index + Int(n))])
    }

    public mutating func string() throws(Envelope.Malformed) -> String {
        let raw = try blob()
        guard let text = String(validating: raw, as: UTF8.self) else { throw Envelope.Malformed(reason: "a text field is not UTF-8") }
        return text
    }
}
