/// One queue in `GET /api/v1/queues`. `waiting` is exact, counted from the routing state.
public struct QueueSummary: Codable, Sendable, Equatable {
    public var name: String
    public var line: String?
    public var routing: String
    public var waiting: Int
    public var longestWaitSeconds: Int64

    public init(name: String, line: String?, routing: String, waiting: Int, longestWaitSeconds: Int64) {
        self.name = name; self.line = line; self.routing = routing; self.waiting = waiting; self.longestWaitSeconds = longestWaitSeconds
    }

    enum CodingKeys: String, CodingKey { case name, line, routing, waiting, longestWaitSeconds = "longest_wait_seconds" }
}

public struct QueueList: Codable, Sendable, Equatable {
    public var queues: [QueueSummary]
    @OmittedWhenNil public var unavailableNodes: [String]?

    public init(queues: [QueueSummary], unavailableNodes: [String]? = nil) { self.queues = queues; self.unavailableNodes = unavailableNodes }

    enum CodingKeys: String, CodingKey { case queues, unavailableNodes = "unavailable_nodes" }
}

/// `GET /api/v1/queues/{name}`: the exact count, and one page of waiting tickets in the order
/// they will be assigned (`offset`, `limit`); `next_offset` names the next page.
public struct QueueView: Codable, Sendable, Equatable {
    public var name: String
    public var routing: String
    public var waitingCount: Int
    public var waiting: [WaitingTicket]
    public var nextOffset: Int?
    @OmittedWhenNil public var unavailableNodes: [String]?

    public init(name: String, routing: String, waitingCount: Int, waiting: [WaitingTicket], nextOffset: Int?, unavailableNodes: [String]? = nil) {
        self.name = name; self.routing = routing; self.waitingCount = waitingCount; self.waiting = waiting
        self.nextOffset = nextOffset; self.unavailableNodes = unavailableNodes
    }

    enum CodingKeys: String, CodingKey {
        case name, routing, waitingCount = "waiting_count", waiting, nextOffset = "next_offset", unavailableNodes = "unavailable_nodes"
    }

}

/// One waiting ticket in a queue view.
public struct WaitingTicket: Codable, Sendable, Equatable {
    /// The ticket, its priority (urgent tickets are assigned first, then by arrival) and subject.
    public var ticket, priority, subject: String
    /// Since the ticket last changed.
    public var waitingSeconds: Int64

    public init(ticket: String, priority: String, subject: String, waitingSeconds: Int64) {
        self.ticket = ticket; self.priority = priority; self.subject = subject; self.waitingSeconds = waitingSeconds
    }

    enum CodingKeys: String, CodingKey { case ticket, priority, subject, waitingSeconds = "waiting_seconds" }
}
