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
final class StreamWriter {
    var bytes: [UInt8] = []
    /// Per open container: whether it already has an element (a comma is due).
    var hasElement: [Bool] = []
    /// What the value being encoded opened: 0 nothing yet, 1 object, 2 array, 3 single value.
    var opened: [UInt8] = []

    init() { bytes.reserveCapacity(1024) }

    func encodeValue<T: Encodable>(_ value: T) throws {
        switch value {
        case let s as String: string(s); return
        case let map as [String: String]:
            bytes.append(UInt8(ascii: "{"))
            for (i, key) in map.keys.sorted().enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                string(key)
                bytes.append(UInt8(ascii: ":"))
                string(map[key]!)
            }
            bytes.append(UInt8(ascii: "}"))
            return
        case let b as Bool: append(b ? "true" : "false"); return
        case let n as Int: append(String(n)); return
        case let n as Int64: append(String(n)); return
        case let d as Double: append(d.isFinite ? String(d) : "null"); return
        default: break
        }
        opened.append(0)
        try value.encode(to: StreamEncoder(writer: self))
        switch opened.removeLast() {
        case 0: append("null")   // encoded nothing: Optional.none through a keyed encode
        case 1: bytes.append(UInt8(ascii: "}")); hasElement.removeLast()
        case 2: bytes.append(UInt8(ascii: "]")); hasElement.removeLast()
        default: break
        }
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

    func append(_ s: String) { bytes.append(contentsOf: s.utf8) }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(Self.hex[Int(b >> 4)])
                bytes.append(Self.hex[Int(b & 0xF)])
            default: bytes.append(b)
            }
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
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        if let omittable = value as? any OmittableWhenNil, omittable.isNil { return }
        writer.key(key.stringValue)
        try writer.encodeValue(value)
    }
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
}

/// A property left out of the JSON when nil (other optionals are written as `null`): for the
/// few fields whose absence means something, such as a ticket's comments in a list.
@propertyWrapper
public struct OmittedWhenNil<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable, OmittableWhenNil {
    public var wrappedValue: Value?
    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }
    var isNil: Bool { wrappedValue == nil }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? nil : try c.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(wrappedValue)
    }
}

protocol OmittableWhenNil { var isNil: Bool { get } }

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
