import Foundation
import TicketflowAPI
import TicketflowCore

/// 9. The API's JSON: writing a ticket answer with `JSONOutput` beside Foundation's
/// `JSONEncoder` (sorted keys, what a stable order would cost with it), and reading a create
/// request strictly with `JSONInput` beside `JSONSerialization` (untyped, what the server
/// did before the typed API).
func benchJSON(count: Int) throws {
    let clock = SLAClockView(policy: "urgent", clock: "first_reply", target: "30m", state: .running, due: "2027-01-04T09:30:00.000Z",
                             breached: false, warned: false, breachedAt: nil, fulfilledAt: nil)
    let ticket = TicketView(
        id: "4711", subject: "Checkout fails", description: "The payment page answers 500 since this morning",
        status: "new", priority: .urgent, channel: .phone, type: nil, tags: ["storm"], fields: ["floor": "3"], requiredSkills: [],
        requester: RequesterView(name: "Ann", email: "ann@example.com", organization: "acme"), line: "L2", queue: "second-line",
        assignee: nil, createdAt: "2027-01-04T09:00:00.000Z", updatedAt: "2027-01-04T09:00:00.000Z", workflowVersion: "b2c-support@1",
        sla: Array(repeating: clock, count: 4),
        comments: [CommentView(id: 1, author: .agent, authorName: "bob", isPublic: true, body: "Looking into it", at: "2027-01-04T09:01:00.000Z")])
    var bytes = 0
    var started = Date()
    for _ in 0..<count { bytes &+= JSONOutput.bytes(ticket).count }
    let ours = Date().timeIntervalSince(started) / Double(count) * 1e9
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    started = Date()
    for _ in 0..<count { bytes &+= try encoder.encode(ticket).count }
    let foundation = Date().timeIntervalSince(started) / Double(count) * 1e9
    report("writing a ticket answer (4 SLA clocks, 1 comment)", "\(Int(ours)) ns (JSONOutput)",
           baseline: "JSONEncoder, sorted keys: \(Int(foundation)) ns", ratio: String(format: "%.1f×", foundation / ours),
           note: "\(bytes / (2 * count)) bytes")

    let body = Array(#"{"subject":"Site down","description":"Checkout fails","priority":"urgent","channel":"phone","requester":{"name":"Ann","email":"ann@example.com","organization":"acme"},"tags":["storm"],"fields":{}}"#.utf8)
    var parsed = 0
    started = Date()
    for _ in 0..<count { parsed &+= try JSONInput.decode(NewTicketRequest.self, from: body).subject.count }
    let strict = Date().timeIntervalSince(started) / Double(count) * 1e9
    let data = Data(body)
    started = Date()
    for _ in 0..<count { parsed &+= ((try JSONSerialization.jsonObject(with: data)) as? [String: Any])?.count ?? 0 }
    let untyped = Date().timeIntervalSince(started) / Double(count) * 1e9
    report("reading a create request", "\(Int(strict)) ns (JSONInput, typed and checked)",
           baseline: "JSONSerialization, untyped: \(Int(untyped)) ns", ratio: String(format: "%.1f×", untyped / strict),
           note: "checked: \(parsed > 0)")
}
