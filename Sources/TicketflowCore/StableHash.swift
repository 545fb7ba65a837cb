/// A 64-bit hash that is the same in every process, on every platform and in every release
/// (Swift's `Hasher` is seeded per process): partitions and request fingerprints depend on it.
public enum StableHash {
    /// FNV-1a, 64 bits.
    public static func fnv1a64(_ text: String) -> UInt64 {
        fnv1a64(text.utf8)
    }

    public static func fnv1a64(_ bytes: some Sequence<UInt8>) -> UInt64 { fold(offset, bytes: bytes) }

    /// FNV-1a's starting value, for hashes folded over many pieces (`fold`).
    public static let offset: UInt64 = 0xcbf2_9ce4_8422_2325

    /// Continues an FNV-1a hash over more bytes; pieces are separated, so ("ab", "c") and
    /// ("a", "bc") differ.
    public static func fold(_ hash: UInt64, bytes: some Sequence<UInt8>) -> UInt64 {
        var hash = hash
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    public static func fold(_ hash: UInt64, _ text: String) -> UInt64 { fold(fold(hash, bytes: text.utf8), bytes: [0xff]) }

    /// FNV-1a followed by a 64-bit finalizer (MurmurHash3's fmix64), so that nearby inputs
    /// spread over the whole range: FNV alone spreads short keys poorly.
    public static func mixed(_ text: String) -> UInt64 {
        var h = fnv1a64(text)
        h ^= h >> 33
        h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h
    }
}
