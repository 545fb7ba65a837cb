/// What routing needs to know of one ticket: the queue it waits in, how urgent it is, the
/// skills it needs, who has it, and whether it is still open.
///
/// A single node derives facts from its own tickets as it applies events. In a cluster the
/// node owning a ticket sends its facts to the routing owner, which assigns tickets of every
/// node from them; `version` lets a newer fact replace an older one whatever order they
/// arrive in.
public struct RoutingFact: Hashable, Sendable {
    public var ticket: String
    public var queue: String
    public var priority: Priority
    public var requiredSkills: [String]
    public var assignee: String?
    /// Not solved: it counts against its assignee's capacity, or waits when unassigned.
    public var isOpen: Bool
    /// The ticket's version (events applied) when the fact was taken.
    public var version: Int

    public init(ticket: String, queue: String, priority: Priority, requiredSkills: [String], assignee: String?,
                isOpen: Bool, version: Int) {
        self.ticket = ticket; self.queue = queue; self.priority = priority; self.requiredSkills = requiredSkills
        self.assignee = assignee; self.isOpen = isOpen; self.version = version
    }

    /// The queue the ticket waits in, if it waits for an agent.
    public var waitingQueue: String? { isOpen && assignee == nil ? queue : nil }
    /// The agent whose capacity the ticket takes, if any.
    public var countedAgent: String? { isOpen ? assignee : nil }
}

extension Ticket {
    /// This ticket as routing sees it under a workflow.
    public func routingFact(in workflow: Workflow) -> RoutingFact {
        RoutingFact(ticket: id, queue: queue, priority: priority, requiredSkills: requiredSkills, assignee: assignee,
                    isOpen: !isSolved(in: workflow), version: version)
    }
}

extension Change {
    /// Whether this change can alter the ticket's routing fact (queue, priority, assignee,
    /// open or solved), so a node knows which tickets to tell the routing owner about.
    public var affectsRouting: Bool {
        switch self {
        case .created, .statusChanged, .lineChanged, .queued, .assigned: return true
        case .fieldChanged(let field, _, _): return field == "priority"
        default: return false
        }
    }
}
