/// Whether a webhook target would reach inside: loopback, private, link-local, shared (CGNAT),
/// multicast, reserved or unspecified addresses, in any spelling a resolver or a socket
/// library accepts — dotted, shortened (`127.1`), decimal (`2130706433`), octal (`0177.0.0.1`),
/// hex (`0x7f.1`), and IPv6 forms that carry an IPv4 address (mapped `::ffff:`, compatible `::`,
/// NAT64 `64:ff9b::`, 6to4 `2002:`). Pure: the server checks every address a name resolves to
/// with the same rules before each delivery.
public enum InternalAddress {
    /// A host as written in a URL (brackets, a trailing dot and case do not matter): true when
    /// it is an address inside, or a name that always means this machine (`localhost`).
    public static func isInternal(host: String) -> Bool {
        var h = host.lowercased()
        if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        while h.hasSuffix(".") { h.removeLast() }
        if let zone = h.firstIndex(of: "%") { h = String(h[..<zone]) }   // fe80::1%eth0
        if h.isEmpty || h == "localhost" || h.hasSuffix(".localhost") || h == "localhost.localdomain" { return true }
        if let v4 = ipv4(h) { return isInternal(v4: v4) }
        if let v6 = ipv6(h) { return isInternal(v6: v6) }
        return false
    }

    /// Whether the host is an IP address literal (in any of the spellings above).
    public static func isAddress(_ host: String) -> Bool {
        var h = host.lowercased()
        if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        return ipv4(h) != nil || ipv6(h) != nil
    }

    public static func isInternal(v4 a: UInt32) -> Bool {
        func inRange(_ base: UInt32, _ bits: UInt32) -> Bool { bits == 0 || a >> (32 - bits) == base >> (32 - bits) }
        let ranges: [(UInt32, UInt32)] = [
            (0x0000_0000, 8), (0x0A00_0000, 8), (0x6440_0000, 10), (0x7F00_0000, 8), (0xA9FE_0000, 16), (0xAC10_0000, 12),
            (0xC000_0000, 24), (0xC000_0200, 24), (0xC0A8_0000, 16), (0xC612_0000, 15), (0xC633_6400, 24), (0xCB00_7100, 24),
            (0xE000_0000, 4), (0xF000_0000, 4),
        ]
        return ranges.contains { inRange($0.0, $0.1) }
    }

    public static func isInternal(v6 w: [UInt16]) -> Bool {
        precondition(w.count == 8)
        let v4 = UInt32(w[6]) << 16 | UInt32(w[7])
        if w[0..<5].allSatisfy({ $0 == 0 }) && (w[5] == 0xFFFF || w[5] == 0) { return isInternal(v4: v4) }   // mapped, compatible, ::, ::1
        if w[0] == 0x64 && w[1] == 0xFF9B && w[2..<6].allSatisfy({ $0 == 0 }) { return isInternal(v4: v4) } // NAT64
        if w[0] == 0x2002 { return isInternal(v4: UInt32(w[1]) << 16 | UInt32(w[2])) }                    // 6to4
        if w[0] & 0xFFC0 == 0xFE80 || w[0] & 0xFFC0 == 0xFEC0 { return true }                               // link-local, site-local
        if w[0] & 0xFE00 == 0xFC00 { return true }                                                          // unique local
        if w[0] & 0xFF00 == 0xFF00 { return true }                                                          // multicast
        if w[0] == 0x2001 && w[1] == 0x0DB8 { return true }                                                 // documentation
        return false
    }

    /// An IPv4 address as `inet_aton` reads it: one to four parts, each decimal, octal (leading
    /// 0) or hex (0x); the last part fills the bytes the others leave.
    public static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt64] = []
        for part in parts {
            guard let v = number(part), v <= UInt64(UInt32.max) else { return nil }
            values.append(v)
        }
        var result: UInt64 = 0
        for (i, v) in values.dropLast().enumerated() {
            guard v <= 255 else { return nil }
            result |= v << (8 * UInt64(3 - i))
        }
        let lastBits = 8 * UInt64(5 - parts.count)
        guard lastBits == 32 || values.last! < (1 << lastBits) else { return nil }
        return UInt32(result | values.last!)
    }

    private static func number(_ part: Substring) -> UInt64? {
        guard !part.isEmpty, part.count <= 34 else { return nil }
        if part.hasPrefix("0x") { return part.count == 2 ? 0 : UInt64(part.dropFirst(2), radix: 16) }
        if part.count > 1 && part.hasPrefix("0") { return UInt64(part.dropFirst(), radix: 8) }
        return UInt64(part, radix: 10)
    }

    /// An IPv6 address as eight 16-bit words (`::` compression and a dotted IPv4 tail allowed).
    public static func ipv6(_ text: String) -> [UInt16]? {
        guard text.contains(":"), text.count <= 45 else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func words(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            let groups = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, g) in groups.enumerated() {
                if i == groups.count - 1, g.contains(".") {
                    guard let v4 = ipv4Strict(g) else { return nil }
                    out += [UInt16(v4 >> 16), UInt16(v4 & 0xFFFF)]
                } else {
                    guard (1...4).contains(g.count), let w = UInt16(g, radix: 16) else { return nil }
                    out.append(w)
                }
            }
            return out
        }
        guard let head = words(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 8 ? head : nil }
        guard let tail = words(halves[1]), head.count + tail.count <= 7 else { return nil }
        return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
    }

    /// A dotted-quad of four decimal parts (the only IPv4 form inside an IPv6 address).
    private static func ipv4Strict(_ s: Substring) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: UInt32 = 0
        for p in parts {
            guard let v = UInt32(p, radix: 10), v <= 255, p.count <= 3 else { return nil }
            result = result << 8 | v
        }
        return result
    }
}
