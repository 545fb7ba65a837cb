import Foundation
import Testing
import TicketflowCore
@testable import TicketflowAPI

@Suite struct APIValueTests {
    static let ticket = TicketView(
        id: "7", subject: "Printer \"on fire\"\n", description: "", status: "new", priority: .high, channel: .email, type: nil,
        tags: ["a"], fields: ["zone": "b", "area": "a"], requiredSkills: [], requester: RequesterView(name: "Ann", email: "ann@example.com", organization: nil),
        line: "L1", queue: "q1", assignee: nil, createdAt: "2027-01-04T09:00:00.000Z", updatedAt: "2027-01-04T09:00:00.000Z",
        workflowVersion: "w@1", sla: [SLAClockView(policy: "p", clock: "first_reply", target: "1h", state: .running, due: "2027-01-04T10:00:00.000Z",
                                                  breached: false, warned: false, breachedAt: nil, fulfilledAt: nil)],
        comments: [CommentView(id: 1, author: .agent, authorName: "bob", isPublic: false, body: "x", at: "2027-01-04T09:00:00.000Z")])

    @Test func keysComeInDeclaredOrderAndNullsAreWritten() {
        let text = String(decoding: JSONOutput.bytes(Self.ticket), as: UTF8.self)
        #expect(text.hasPrefix(#"{"id":"7","subject":"Printer \"on fire\"\n","description":"","status":"new","priority":"high","channel":"email","type":null,"tags":["a"],"fields":{"area":"a","zone":"b"},"#))
        #expect(text.contains(#""assignee":null"#))
        #expect(text.contains(#""comments":[{"id":1,"author":"agent","author_name":"bob","public":false,"body":"x","at":"2027-01-04T09:00:00.000Z"}]"#))
        // The same value gives the same bytes, every time.
        #expect(JSONOutput.bytes(Self.ticket) == JSONOutput.bytes(Self.ticket))
    }

    @Test func whatTheServerWritesClientsReadBack() throws {
        let back = try JSONDecoder().decode(TicketView.self, from: JSONOutput.data(Self.ticket))
        #expect(back == Self.ticket)
        var list = Self.ticket
        list.comments = nil
        let page = TicketPage(tickets: [list], nextAfter: nil)
        let text = String(decoding: JSONOutput.bytes(page), as: UTF8.self)
        #expect(!text.contains("comments") && text.hasSuffix(#""next_after":null}"#))
        #expect(try JSONDecoder().decode(TicketPage.self, from: Data(text.utf8)) == page)
    }

    @Test func requestsAreReadStrictly() throws {
        let good = #"{"subject":"s","requester":{"email":"a@b"},"priority":"urgent","fields":{"k":"v"}}"#
        let request = try JSONInput.decode(NewTicketRequest.self, from: Array(good.utf8))
        #expect(request.priority == .urgent && request.fields == ["k": "v"] && request.requester.email == "a@b")

        func refused(_ body: String, _ type: (some Decodable).Type = NewTicketRequest.self) -> RequestError? {
            do { _ = try JSONInput.decode(type, from: Array(body.utf8)); return nil } catch { return error as? RequestError }
        }
        #expect(refused(#"{"subject":"s","requester":{"email":"a@b"},"colour":"red"}"#)?.code == .unknownField)
        #expect(refused(#"{"subject":"s","requester":{"email":"a@b","phone":"1"}}"#)?.code == .unknownField)
        #expect(refused(#"{"requester":{"email":"a@b"}}"#)?.code == .missingField)
        #expect(refused(#"{"subject":"","requester":{"email":"a@b"}}"#)?.code == .invalidField)
        #expect(refused(#"{"subject":"s","requester":{"email":"nobody"}}"#)?.code == .invalidField)
        #expect(refused(#"{"subject":"s","requester":{"email":"a@b"},"priority":"blazing"}"#)?.message.contains("expected one of low, normal, high, urgent") == true)
        #expect(refused(#"{"subject":5,"requester":{"email":"a@b"}}"#)?.message == "'subject' must be a string")
        #expect(refused(#"{"subject":"s","requester":{"email":"a@b"},"tags":[1]}"#)?.code == .invalidField)
        #expect(refused(#"{"subject":"s","#)?.code == .malformedJSON)
        #expect(refused(#"[1,2]"#)?.code == .malformedJSON)
        #expect(refused("")?.code == .malformedJSON)
        // Capacity 0 and 1 are numbers, not booleans; true is not a number.
        #expect(try JSONInput.decode(AgentRequest.self, from: Array(#"{"capacity":0}"#.utf8)).capacity == 0)
        #expect(try JSONInput.decode(AgentRequest.self, from: Array(#"{"capacity":1}"#.utf8)).capacity == 1)
        #expect(refused(#"{"capacity":true}"#, AgentRequest.self)?.code == .invalidField)
        #expect(refused(#"{"capacity":1001}"#, AgentRequest.self)?.code == .invalidField)
        #expect(refused(#"{"body":""}"#, CommentRequest.self)?.code == .invalidField)
        #expect(refused(#"{"body":"x","public":1}"#, CommentRequest.self)?.message == "'public' must be true or false")
        #expect(refused(#"{"agent":""}"#, AssignRequest.self)?.code == .invalidField)
        #expect(try JSONInput.decode(AssignRequest.self, from: Array(#"{"agent":null}"#.utf8)).agent == nil)
    }

    struct Everything: Codable, Equatable {
        var s: String, i: Int, big: Int64, t: Bool, f: Bool, d: Double, none: String?, list: [String], nested: [[Int]]
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(s, forKey: .s); try c.encode(i, forKey: .i); try c.encode(big, forKey: .big); try c.encode(t, forKey: .t)
            try c.encode(f, forKey: .f); try c.encode(d, forKey: .d); try c.encode(none, forKey: .none); try c.encode(list, forKey: .list)
            try c.encode(nested, forKey: .nested)
        }
    }

    @Test func writesWhatFoundationReadsBack() throws {
        let value = Everything(s: "quote \" backslash \\ newline \n tab \t bell \u{07} ünïcødé ✓ </script>", i: -42, big: Int64(1) << 60,
                               t: true, f: false, d: 1.5, none: nil, list: ["a", ""], nested: [[1, 2], []])
        let bytes = JSONOutput.bytes(value)
        #expect(try JSONDecoder().decode(Everything.self, from: Data(bytes)) == value)
        #expect(String(decoding: bytes, as: UTF8.self).contains(#""none":null"#))
        #expect(String(decoding: bytes, as: UTF8.self).contains(#"bell \u0007"#))
    }
}
