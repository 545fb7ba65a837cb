import Foundation

/// Writes `Encodable` values as compact JSON, keys in the order the type encodes them (its
/// declared order), so answers read the same on every run and diff cleanly. Foundation's
/// `JSONEncoder` either orders keys by hash (differently on every run) or sorts them, and
/// with sorting costs about 24 µs for a small ticket on this machine, a tenth of a whole HTTP
/// create; this one writes straight into a byte buffer.
///
/// Two rules make synthesized `Encodable` conformances enough for the API's types: an
/// optional that is nil is written as `null` (clients see every field), unless the property
/// is `@OmittedWhenNil`; and a `[String: String]` is written with its keys sorted.
public enum JSONOutput {
    public static func bytes<T: Encodable>(_ value: T) -> [UInt8] {
        let writer = StreamWriter()
        do { try writer.encodeValue(value) } catch {
            // Our encoder never throws and our types encode only strings, numbers, booleans,
            // arrays and objects; a value that throws is a programming error.
            preconditionFailure("encoding \(T.self) failed: \(error)")
        }
        return writer.bytes
    }

    public static func data<T: Encodable>(_ value: T) -> Data { Data(bytes(value)) }
}

/// The buffer and the state of the container being written. Each value encodes into a fresh
/// frame: it opens at most one container, which is closed when its `encode(to:)` returns.
///
/// Speed: strings, numbers and booleans reach the writer through the containers' concrete
/// overloads, never through a dynamic cast; generic values are recognised by comparing
/// metatypes (a pointer comparison), not with `as?` — casts cost ~100 ns each and made a
/// ticket slower to write than with `JSONEncoder`.
final class StreamWriter {
    var bytes: [UInt8] = []
    /// Per open container: whether it already has an element (a comma is due).
    var hasElement: [Bool] = []
    /// What the value being encoded opened: 0 nothing yet, 1 object, 2 array, 3 single value.
    var opened: [UInt8] = []
    /// Set by an `@OmittedWhenNil` property that is nil: its key is taken back out.
    var omitCurrent = false

    init() { bytes.reserveCapacity(1024) }

    func encodeValue<T: Encodable>(_ value: T) throws {
        if T.self == String.self { string(Self.reinterpret(value, as: String.self)); return }
        if T.self == Int.self { int(Int64(Self.reinterpret(value, as: Int.self))); return }
        if T.self == Int64.self { int(Self.reinterpret(value, as: Int64.self)); return }
        if T.self == Bool.self { append(Self.reinterpret(value, as: Bool.self) ? "true" : "false"); return }
        if T.self == Double.self { double(Self.reinterpret(value, as: Double.self)); return }
        if T.self == [String: String].self { sortedMap(Self.reinterpret(value, as: [String: String].self)); return }
        opened.append(0)
        try value.encode(to: StreamEncoder(writer: self))
        switch opened.removeLast() {
        case 0: append("null")   // encoded nothing: Optional.none through a keyed encode
        case 1: bytes.append(UInt8(ascii: "}")); hasElement.removeLast()
        case 2: bytes.append(UInt8(ascii: "]")); hasElement.removeLast()
        default: break
        }
    }

    /// A value as the type its metatype was just compared equal to.
    @inline(__always)
    static func reinterpret<T, U>(_ value: T, as type: U.Type) -> U {
        withUnsafePointer(to: value) { $0.withMemoryRebound(to: U.self, capacity: 1) { $0.pointee } }
    }

    func open(_ kind: UInt8) {
        precondition(opened.last == 0, "a value encodes into one container")
        opened[opened.count - 1] = kind
        if kind == 1 { bytes.append(UInt8(ascii: "{")); hasElement.append(false) }
        if kind == 2 { bytes.append(UInt8(ascii: "[")); hasElement.append(false) }
    }

    func separator() {
        if hasElement[hasElement.count - 1] { bytes.append(UInt8(ascii: ",")) }
        hasElement[hasElement.count - 1] = true
    }

    func key(_ k: String) {
        separator()
        string(k)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Writes a key and its value; takes both back when the value asks to be left out.
    func field<T: Encodable>(_ key: String, _ value: T) throws {
        let mark = bytes.count, hadElement = hasElement[hasElement.count - 1]
        self.key(key)
        try encodeValue(value)
        if omitCurrent {
            omitCurrent = false
            bytes.removeSubrange(mark...)
            hasElement[hasElement.count - 1] = hadElement
        }
    }

    func append(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    func int(_ n: Int64) {
        var text = String(n)
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    func double(_ d: Double) {
        guard d.isFinite else { append("null"); return }
        var text = String(d)
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    func sortedMap(_ map: [String: String]) {
        bytes.append(UInt8(ascii: "{"))
        for (i, key) in map.keys.sorted().enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            string(key)
            bytes.append(UInt8(ascii: ":"))
            string(map[key]!)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    func string(_ s: String) {
        var s = s
        bytes.append(UInt8(ascii: "\""))
        s.withUTF8 { utf8 in
            var start = 0
            for (i, b) in utf8.enumerated() where b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i]))
                start = i + 1
                switch b {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
                case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    bytes.append(Self.hex[Int(b >> 4)])
                    bytes.append(Self.hex[Int(b & 0xF)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

struct StreamEncoder: Encoder {
    let writer: StreamWriter
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if writer.opened.last == 0 { writer.open(1) }
        return KeyedEncodingContainer(KeyedStream<Key>(writer: writer))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if writer.opened.last == 0 { writer.open(2) }
        return UnkeyedStream(writer: writer)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        if writer.opened.last == 0 { writer.open(3) }
        return SingleStream(writer: writer)
    }
}

struct KeyedStream<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let writer: StreamWriter
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil(forKey key: Key) throws { writer.key(key.stringValue); writer.append("null") }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try writer.field(key.stringValue, value) }
    mutating func encode(_ value: String, forKey key: Key) throws { writer.key(key.stringValue); writer.string(value) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { writer.key(key.stringValue); writer.append(value ? "true" : "false") }
    mutating func encode(_ value: Int, forKey key: Key) throws { writer.key(key.stringValue); writer.int(Int64(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { writer.key(key.stringValue); writer.int(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { writer.key(key.stringValue); writer.double(value) }
    // Synthesized conformances write optionals through these: nil is written as null.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        preconditionFailure("JSONOutput does not support nested containers; encode a value instead")
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        preconditionFailure("JSONOutput does not support nested containers; encode a value instead")
    }
    mutating func superEncoder() -> any Encoder { preconditionFailure("JSONOutput does not support superEncoder") }
    mutating func superEncoder(forKey key: Key) -> any Encoder { preconditionFailure("JSONOutput does not support superEncoder") }
}

struct UnkeyedStream: UnkeyedEncodingContainer {
    let writer: StreamWriter
    var codingPath: [any CodingKey] { [] }
    var count = 0

    mutating func encodeNil() throws { writer.separator(); writer.append("null"); count += 1 }
    mutating func encode<T: Encodable>(_ value: T) throws {
        writer.separator()
        try writer.encodeValue(value)
        count += 1
    }
    mutating func encode(_ value: String) throws { writer.separator(); writer.string(value); count += 1 }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        preconditionFailure("JSONOutput does not support nested containers; encode a value instead")
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        preconditionFailure("JSONOutput does not support nested containers; encode a value instead")
    }
    mutating func superEncoder() -> any Encoder { preconditionFailure("JSONOutput does not support superEncoder") }
}

struct SingleStream: SingleValueEncodingContainer {
    let writer: StreamWriter
    var codingPath: [any CodingKey] { [] }

    mutating func encodeNil() throws { writer.append("null") }
    mutating func encode<T: Encodable>(_ value: T) throws { try writer.encodeValue(value) }
    mutating func encode(_ value: String) throws { writer.string(value) }
    mutating func encode(_ value: Bool) throws { writer.append(value ? "true" : "false") }
    mutating func encode(_ value: Int) throws { writer.int(Int64(value)) }
    mutating func encode(_ value: Int64) throws { writer.int(value) }
    mutating func encode(_ value: Double) throws { writer.double(value) }
}

/// A property left out of the JSON when nil (other optionals are written as `null`): for the
/// few fields whose absence means something, such as a ticket's comments in a list.
@propertyWrapper
public struct OmittedWhenNil<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var wrappedValue: Value?
    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? nil : try c.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        // JSONOutput takes the key back out; another encoder writes null.
        if wrappedValue == nil, let stream = encoder as? StreamEncoder {
            stream.writer.omitCurrent = true
            return
        }
        var c = encoder.singleValueContainer()
        try c.encode(wrappedValue)
    }
}

extension KeyedDecodingContainer {
    /// A missing key is nil, as for a plain optional.
    public func decode<V>(_ type: OmittedWhenNil<V>.Type, forKey key: Key) throws -> OmittedWhenNil<V> {
        OmittedWhenNil(wrappedValue: try decodeIfPresent(V.self, forKey: key))
    }
}

/// A coding key made from any string.
public struct AnyKey: CodingKey, Hashable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ string: String) { stringValue = string }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}
