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
        let all = answers.flatMap(\.tickets).sorted { TicketNumber.listsFirst($0.id, before: $1.id) }
        let page = Array(all.prefix(limit))
        let more = answers.contains { $0.nextAfter != nil } || all.count > limit
        return TicketPage(tickets: page, nextAfter: more ? page.last.flatMap { TicketNumber(id: $0.id)?.value } : nil, unavailableNodes: missing)
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
