import TicketflowCore
import TicketflowWorkflow

extension Session {
    /// Checks one `expect:` step. Each key is one expectation, reported on its own.
    mutating func expect(_ v: Syntax) {
        guard case .map(let entries, _) = v, let node else { problem(v.position, "expect needs a mapping"); return }
        let ticketID = entries.first { $0.key == "ticket" }?.value.scalar
        let ticket = ticketID.flatMap { node.center.tickets[$0] }
        let workflow = node.center.workflow
        for entry in entries where entry.key != "ticket" {
            let at = entry.keyPosition
            let want = entry.value.scalar ?? ""
            func needTicket() -> Ticket? {
                if ticket == nil { check(at, "ticket \(ticketID ?? "?") exists", expected: "yes", actual: "no") }
                return ticket
            }
            switch entry.key {
            case "rejected":
                var actual = "accepted"
                if case .failure(let r)? = lastResult { actual = r.code.rawValue }
                check(at, "previous command rejected with", expected: want, actual: actual)
            case "accepted":
                var actual = "true"
                if case .failure(let r)? = lastResult { actual = "false (\(r.message))" }
                check(at, "previous command accepted", expected: want, actual: actual)
            case "now":
                check(at, "now", expected: want, actual: node.now.iso8601)
            case "status", "priority", "queue", "assignee", "line", "type", "subject":
                guard let t = needTicket() else { continue }
                let actual = t.values(of: entry.key, workflow: workflow).first ?? "none"
                check(at, "\(t.id) \(entry.key)", expected: want, actual: actual, about: (t.id, entry.key))
            case "tags":
                guard let t = needTicket() else { continue }
                let wanted = (entry.value.scalar.map { [$0] } ?? listOf(entry.value)).sorted()
                check(at, "\(t.id) tags", expected: wanted.joined(separator: ","), actual: t.tags.sorted().joined(separator: ","), about: (t.id, "tags"))
            case "comments":
                guard let t = needTicket() else { continue }
                check(at, "\(t.id) comment count", expected: want, actual: String(t.comments.count))
            case "sla":
                guard let t = needTicket(), case .map(let clocks, _) = entry.value else { continue }
                for clockEntry in clocks {
                    guard let clock = t.slaClocks[clockEntry.key] else {
                        check(clockEntry.keyPosition, "\(t.id) SLA clock \(clockEntry.key)", expected: "present",
                              actual: "absent (has \(t.slaClocks.keys.joined(separator: ", ")))")
                        continue
                    }
                    guard case .map(let props, _) = clockEntry.value else { continue }
                    for p in props {
                        let expected = p.value.scalar ?? ""
                        let actual: String
                        switch p.key {
                        case "due": actual = clock.due?.iso8601 ?? "none"
                        case "state": actual = clock.isStopped ? "stopped" : (clock.isRunning ? "running" : "paused")
                        case "breached": actual = clock.isBreached ? "true" : "false"
                        case "warned": actual = clock.warned ? "true" : "false"
                        case "fulfilled": actual = clock.fulfilledAt != nil ? "true" : "false"
                        default: problem(p.keyPosition, "unknown SLA property '\(p.key)'; expected due, state, breached, warned, fulfilled"); continue
                        }
                        check(p.keyPosition, "\(t.id) SLA \(clockEntry.key) \(p.key)", expected: expected, actual: actual, about: (t.id, "sla"))
                    }
                }
            case "outbox":
                // Each expected notification must be in the outbox (for this ticket, if one is named).
                for item in listItems(entry.value) {
                    guard case .map(let props, _) = item else { continue }
                    let to = props.first { $0.key == "to" }?.value.scalar
                    let template = props.first { $0.key == "template" }?.value.scalar
                    let found = node.outbox.contains { n in
                        (ticketID == nil || n.id.hasPrefix(ticketID! + "/")) && (to == nil || n.recipient == to) && (template == nil || n.template == template)
                    }
                    check(item.position, "outbox has \(template ?? "*") to \(to ?? "*")", expected: "yes",
                          actual: found ? "yes" : "no (outbox: \(node.outbox.map { "\($0.template)→\($0.recipient)" }.joined(separator: ", ")))")
                }
            case "outbox_count":
                let count = node.outbox.filter { ticketID == nil || $0.id.hasPrefix(ticketID! + "/") }.count
                check(at, "outbox size", expected: want, actual: String(count))
            case "audit":
                // Each expected text must appear in some audit entry (summary or cause) of the ticket.
                guard let t = needTicket() else { continue }
                let entries = node.journal.filter { $0.ticket == t.id }.map { "\($0.cause) \($0.summary)" }
                for item in listItems(entry.value) {
                    guard let text = item.scalar else { continue }
                    let found = entries.contains { $0.contains(text) }
                    check(item.position, "\(t.id) audit mentions '\(text)'", expected: "yes", actual: found ? "yes" : "no")
                }
            case "no_audit":
                guard let t = needTicket() else { continue }
                let entries = node.journal.filter { $0.ticket == t.id }.map { "\($0.cause) \($0.summary)" }
                for item in listItems(entry.value) {
                    guard let text = item.scalar else { continue }
                    check(item.position, "\(t.id) audit never mentions '\(text)'", expected: "no", actual: entries.contains { $0.contains(text) } ? "yes" : "no")
                }
            case "queue_waiting":
                guard case .map(let queues, _) = entry.value else { continue }
                for q in queues {
                    let waiting = node.center.waitingTickets(in: q.key).count
                    check(q.keyPosition, "tickets waiting in \(q.key)", expected: q.value.scalar ?? "", actual: String(waiting))
                }
            default:
                problem(at, "unknown expectation '\(entry.key)'; expected one of rejected, accepted, now, status, priority, queue, assignee, line, type, subject, tags, comments, sla, outbox, outbox_count, audit, no_audit, queue_waiting")
            }
        }
    }

    func listItems(_ node: Syntax) -> [Syntax] {
        if case .list(let items, _) = node { return items }
        return [node]
    }

    func listOf(_ node: Syntax) -> [String] { listItems(node).compactMap(\.scalar) }
}
