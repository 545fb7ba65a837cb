/// Unsigned LEB128 varints: seven bits a byte, low bits first, the high bit set on every byte
/// but the last. The journal's binary form and the cluster's wire form both use this one.
public enum Varint {
    /// Why bytes are not a varint.
    public enum Malformed: Error, Sendable, Equatable {
        /// The bytes end before the varint does.
        case truncated
        /// More than 64 bits.
        case tooLong
    }

    @inlinable
    public static func append(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }

    /// Reads the varint at `index`, moving `index` past it.
    @inlinable
    public static func read<Bytes: Collection>(_ bytes: Bytes, at index: inout Bytes.Index) throws(Malformed) -> UInt64
    where Bytes.Element == UInt8 {
        var value: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard index < bytes.endIndex else { throw .truncated }
            let b = bytes[index]
            bytes.formIndex(after: &index)
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return value }
            shift += 7
            guard shift < 64 else { throw .tooLong }
        }
    }
}
