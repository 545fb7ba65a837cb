import Foundation

/// Writes JSON from the `[String: Any]` trees the API builds. Foundation's
/// `JSONSerialization` bridges every value through NSDictionary/NSNumber and cost a third
/// of a ticket create; this handles exactly the value types the views produce.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(2048) }

    static func data(_ value: Any) -> Data {
        var w = JSONWriter()
        w.write(value)
        return Data(w.bytes)
    }

    mutating func write(_ value: Any) {
        if type(of: value) is NSNumber.Type, let n = value as? NSNumber {
            // Values parsed by JSONSerialization (a peer's answer merged into a cluster view):
            // booleans are their own subclass; 0 and 1 must stay numbers.
            if String(describing: type(of: value)).contains("Boolean") { append(n.boolValue ? "true" : "false") }
            else if ["d", "f"].contains(String(cString: n.objCType)) { append(n.doubleValue.isFinite ? String(n.doubleValue) : "null") }
            else { append(String(n.int64Value)) }
            return
        }
        switch value {
        case let s as String: string(s)
        case let b as Bool: append(b ? "true" : "false")
        case let n as Int: append(String(n))
        case let n as Int64: append(String(n))
        case let d as Double: append(d.isFinite ? String(d) : "null")
        case let o as [String: Any]:
            bytes.append(UInt8(ascii: "{"))
            var first = true
            for (k, v) in o {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                string(k)
                bytes.append(UInt8(ascii: ":"))
                write(v)
            }
            bytes.append(UInt8(ascii: "}"))
        case let a as [Any]:
            bytes.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                write(v)
            }
            bytes.append(UInt8(ascii: "]"))
        default:
            append("null")   // NSNull, and anything a view should not contain
        }
    }

    private mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
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
