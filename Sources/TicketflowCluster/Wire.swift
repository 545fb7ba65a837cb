import TicketflowCore

/// The compact binary layout cluster payloads use: unsigned varints, and strings and byte
/// runs prefixed by their length. `WireReader` checks every length against what is left, so
/// a hostile payload fails with a reason instead of reading out of bounds.
public struct WireWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func uint(_ value: UInt64) { Varint.append(value, to: &bytes) }

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
        do { return try Varint.read(bytes, at: &index) } catch { throw Envelope.Malformed(error) }
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
