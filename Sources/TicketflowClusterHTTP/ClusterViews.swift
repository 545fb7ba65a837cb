import TicketflowCore
import TicketflowServer
import TicketflowAPI

/// Cluster-wide views: the answers of every node that answered, merged into one. Pure
/// functions over typed answers, so they are tested without a cluster.
enum ClusterViews {
    /// A ticket page: the first `limit` tickets by number across nodes. Ticket numbers are
    /// unique cluster-wide and every node pages by "number after", so merging the nodes'
    /// first pages gives exactly the cluster's first page.
    static func tickets(_ answers: [TicketPage], limit: Int, missing: [String]) -> TicketPage {
        let (page, next) = firstPage(answers.map { ($0.tickets, $0.nextAfter) }, id: \.id, limit: limit)
        return TicketPage(tickets: page, nextAfter: next, unavailableNodes: missing)
    }

    /// A requester's page of their own tickets, merged the same way.
    static func requesterTickets(_ answers: [RequesterTicketPage], limit: Int) -> RequesterTicketPage {
        let (page, next) = firstPage(answers.map { ($0.tickets, $0.nextAfter) }, id: \.id, limit: limit)
        return RequesterTicketPage(tickets: page, nextAfter: next)
    }

    /// The first `limit` items of the nodes' first pages by ticket number, and the next page's `after`.
    private static func firstPage<T>(_ pages: [(items: [T], next: Int64?)], id: (T) -> String, limit: Int) -> ([T], Int64?) {
        let all = pages.flatMap(\.items).sorted { TicketNumber.listsFirst(id($0), before: id($1)) }
        let page = Array(all.prefix(limit))
        let more = pages.contains { $0.next != nil } || all.count > limit
        return (page, more ? page.last.flatMap { TicketNumber(id: id($0))?.value } : nil)
    }

    /// Queue summaries: waiting counts add up, the longest wait is the longest anywhere.
    static func queues(_ answers: [QueueList], missing: [String]) -> QueueList {
        var merged: [String: QueueSummary] = [:]
        for queue in answers.flatMap(\.queues) {
            guard var seen = merged[queue.name] else { merged[queue.name] = queue; continue }
            seen.waiting += queue.waiting
            seen.longestWaitSeconds = max(seen.longestWaitSeconds, queue.longestWaitSeconds)
            merged[queue.name] = seen
        }
        return QueueList(queues: merged.keys.sorted().map { merged[$0]! }, unavailableNodes: missing)
    }

    /// One queue: counts add up; each node's page of waiting tickets, longest waiting first.
    /// (Pages are per node: `offset` and `limit` apply on each node, and `next_offset` is
    /// there while any node has more.)
    static func queue(_ answers: [QueueView], missing: [String]) -> QueueView? {
        guard var first = answers.first else { return nil }
        first.waitingCount = answers.reduce(0) { $0 + $1.waitingCount }
        first.waiting = answers.flatMap(\.waiting).sorted { $0.waitingSeconds > $1.waitingSeconds }
        first.nextOffset = answers.compactMap(\.nextOffset).max()
        first.unavailableNodes = missing
        return first
    }
}
