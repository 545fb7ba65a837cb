import Hummingbird
import TicketflowAPI
import TicketflowCore

/// Queues: exact waiting counts from the routing state, and paged contents.
extension Routes {
    func listQueues(_ request: Request, _ context: Context) async throws -> Response {
        let wf = await node.workflow
        var queues: [QueueSummary] = []
        for name in wf.queues.keys.sorted() {
            let longest = try await node.longestWait(in: name)
            queues.append(QueueSummary(name: name, line: wf.lines.first { $0.queue == name }?.name, routing: wf.queues[name]!.routing.rawValue,
                                       waiting: await node.waitingCount(in: name), longestWaitSeconds: longest.millis / 1000))
        }
        return JSONResponse.make(QueueList(queues: queues))
    }

    static let queueParameters: Set<String> = ["offset", "limit"]

    func readQueue(_ request: Request, _ context: Context) async throws -> Response {
        let name = try parameter(context, "name")
        try checkQuery(request, allowed: Self.queueParameters)
        let q = request.uri.queryParameters
        var offset = 0, limit = 100
        if let text = q.get("offset") {
            guard let n = Int(text), (0...1_000_000_000).contains(n) else { throw APIError(.badRequest, "invalid_parameter", "offset must be 0…1000000000") }
            offset = n
        }
        if let text = q.get("limit") {
            guard let n = Int(text), (1...1000).contains(n) else { throw APIError(.badRequest, "invalid_parameter", "limit must be 1…1000") }
            limit = n
        }
        let wf = await node.workflow
        guard let queue = wf.queues[name] else { throw APIError(.notFound, "unknown_queue", "no queue named '\(name)'") }
        let count = await node.waitingCount(in: name)
        let page = try await node.queueContents(name, offset: offset, limit: limit).map {
            WaitingTicket(ticket: $0.ticket.id, priority: $0.ticket.priority.rawValue, subject: $0.ticket.subject, waitingSeconds: $0.waiting.millis / 1000)
        }
        return JSONResponse.make(QueueView(name: name, routing: queue.routing.rawValue, waitingCount: count, waiting: page,
                                           nextOffset: offset + page.count < count ? offset + page.count : nil))
    }
}
