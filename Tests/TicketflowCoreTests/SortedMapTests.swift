import Foundation
import Testing
@testable import TicketflowCore

/// `SortedMap` replaced dictionaries inside `Ticket`; it must behave like one, in key order.
@Suite struct SortedMapTests {
    @Test func behavesLikeADictionaryWhateverTheOrderOfChanges() {
        var random = SystemRandomNumberGenerator()
        let seed = UInt64.random(in: 0..<UInt64.max, using: &random)
        var rng = SplitMix64(seed: seed)
        var map = SortedMap<Int>()
        var reference: [String: Int] = [:]
        for step in 0..<5_000 {
            let key = "k\(Int.random(in: 0..<40, using: &rng))"
            if Bool.random(using: &rng) {
                map[key] = step; reference[key] = step
            } else {
                map[key] = nil; reference[key] = nil
            }
            #expect(map[key] == reference[key], "seed \(seed), step \(step)")
        }
        #expect(map.count == reference.count, "seed \(seed)")
        #expect(map.keys == reference.keys.sorted(), "seed \(seed): keys in order")
        #expect(map.values == reference.keys.sorted().map { reference[$0]! }, "seed \(seed)")
        #expect(Array(map.map(\.key)) == map.keys)
    }

    @Test func equalityHashingAndCodingIgnoreHowTheMapWasBuilt() throws {
        var a = SortedMap<String>()
        a["sla/urgent/first_reply"] = "x"
        a["automation/close"] = "y"
        a["gone"] = "z"
        a["gone"] = nil
        let b: SortedMap<String> = ["automation/close": "y", "sla/urgent/first_reply": "x"]
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a != ["automation/close": "y"])
        #expect(SortedMap([(key: "a", value: "1"), (key: "a", value: "2")])["a"] == "2", "a later pair wins")

        let json = try JSONEncoder().encode(a)
        #expect(try JSONDecoder().decode([String: String].self, from: json) == ["automation/close": "y", "sla/urgent/first_reply": "x"],
                "coded as the dictionary it replaced")
        #expect(try JSONDecoder().decode(SortedMap<String>.self, from: json) == a)
        #expect(SortedMap<Int>().description == "[:]")
        #expect(b.description == #"["automation/close": y, "sla/urgent/first_reply": x]"#)
    }
}
