import Foundation
import TicketflowCore

/// A compact binary form for journal events and ticket snapshots.
///
/// JSON cost most of a create's time and made restarts slow (decoding 115k ticket
/// snapshots took ten seconds); this form is a few times smaller and an order of magnitude
/// faster. Integers are zig-zag varints, strings are length-prefixed UTF-8, enums are one
/// byte. Every blob starts with a format byte so the layout can evolve; enum codes are
/// append-only.
struct BinaryWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func byte(_ v: UInt8) { bytes.append(v) }

    mutating func varint(_ value: UInt64) { Varint.append(value, to: &bytes) }

    mutating func int(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }
    mutating func int(_ v: Int) { int(Int64(v)) }
    mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { buffer in
            varint(UInt64(buffer.count))
            bytes.append(contentsOf: buffer)
        }
    }

    mutating func optional<T>(_ v: T?, _ write: (inout BinaryWriter, T) -> Void) {
        if let v { bytes.append(1); write(&self, v) } else { bytes.append(0) }
    }

    mutating func strings(_ list: [String]) {
        varint(UInt64(list.count))
        for s in list { string(s) }
    }

    /// Dictionaries are written in key order, so equal values give equal bytes.
    mutating func map<V>(_ dict: [String: V], _ write: (inout BinaryWriter, V) -> Void) {
        varint(UInt64(dict.count))
        for key in dict.keys.sorted() { string(key); write(&self, dict[key]!) }
    }

    /// The same bytes as a dictionary with the same entries.
    mutating func map<V>(_ map: SortedMap<V>, _ write: (inout BinaryWriter, V) -> Void) {
        varint(UInt64(map.count))
        for (key, value) in map { string(key); write(&self, value) }
    }

    var data: Data { Data(bytes) }
}

/// Reads what `BinaryWriter` wrote; throws on truncated or malformed input instead of trapping.
///
/// It reads the blob's bytes where they are (valid only inside `Blob`'s `withUnsafeBytes`):
/// copying each blob first showed in restart profiles.
struct BinaryReader {
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { position == bytes.count }

    mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw Malformed(description: "truncated at byte \(position)") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func varint() throws -> UInt64 {
        do { return try Varint.read(bytes, at: &position) } catch .truncated {
            throw Malformed(description: "truncated at byte \(position)")
        } catch {
            throw Malformed(description: "varint too long at byte \(position)")
        }
    }

    mutating func int64() throws -> Int64 {
        let v = try varint()
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }

    mutating func int() throws -> Int { Int(try int64()) }
    mutating func bool() throws -> Bool { try byte() != 0 }

    mutating func string() throws -> String {
        let count = Int(try varint())
        guard count >= 0, count <= bytes.count - position else { throw Malformed(description: "string runs past the end at byte \(position)") }
        defer { position += count }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)]), as: UTF8.self)
    }

    mutating func optional<T>(_ read: (inout BinaryReader) throws -> T) throws -> T? {
        switch try byte() {
        case 0: return nil
        case 1: return try read(&self)
        case let tag: throw Malformed(description: "bad optional tag \(tag) at byte \(position - 1)")
        }
    }

    mutating func count() throws -> Int {
        let n = Int(try varint())
        guard n <= bytes.count - position else { throw Malformed(description: "count \(n) larger than the remaining bytes") }
        return n
    }

    mutating func strings() throws -> [String] {
        var out: [String] = []
        let n = try count()
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try string()) }
        return out
    }

    mutating func map<V>(_ read: (inout BinaryReader) throws -> V) throws -> [String: V] {
        let n = try count()
        var out: [String: V] = Dictionary(minimumCapacity: n)
        for _ in 0..<n {
            let key = try string()
            out[key] = try read(&self)
        }
        return out
    }

    mutating func sortedMap<V>(_ read: (inout BinaryReader) throws -> V) throws -> SortedMap<V> {
        let n = try count()
        var out = SortedMap<V>()
        for _ in 0..<n {
            let key = try string()
            out[key] = try read(&self)
        }
        return out
    }

    /// An enum from its one-byte code.
    mutating func code<E>(_ cases: [E], _ what: String) throws -> E {
        let c = Int(try byte())
        guard c < cases.count else { throw Malformed(description: "unknown \(what) code \(c)") }
        return cases[c]
    }
}

