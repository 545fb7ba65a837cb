import Testing
import TicketflowCore

@Suite struct TicketNumberTests {
    @Test func mintedIdsAndNumbersConvertBothWaysExactly() {
        for value: Int64 in [0, 1, 9, 10, 12_345, 999_999_999_999_999_999] {
            let number = TicketNumber(value)
            #expect(TicketNumber(id: number.id) == number)
        }
    }

    @Test func idsThatOnlyLookNumericAreNotNumbers() {
        for id in ["", "007", "+7", "-7", "7a", " 7", "T1", "1234567890123456789"] {
            #expect(TicketNumber(id: id) == nil, "\(id)")
        }
    }

    @Test func listsShowMintedIdsByNumberThenNamesByName() {
        let ids = ["T2", "10", "9", "A1", "100"]
        #expect(ids.sorted { TicketNumber.listsFirst($0, before: $1) } == ["9", "10", "100", "A1", "T2"])
    }
}
