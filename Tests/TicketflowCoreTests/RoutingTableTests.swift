import Testing
@testable import TicketflowCore

/// The routing table as the cluster's routing owner uses it: facts in, proposals out, each
/// proposal pending until its owner has decided.
@Suite struct RoutingTableTests {
    let workflow = Workflow(name: "w", version: "1", statuses: ["new", "open", "solved"], solvedStatuses: ["solved"],
                            lines: [Line(name: "L1", queue: "q1"), Line(name: "L2", queue: "q2")])

    func fact(_ id: String, queue: String = "q1", priority: Priority = .normal, assignee: String? = nil,
              open: Bool = true, version: Int = 1, skills: [String] = []) -> RoutingFact {
        RoutingFact(ticket: id, queue: queue, priority: priority, requiredSkills: skills, assignee: assignee, isOpen: open, version: version)
    }

    @Test func proposalsCountAgainstCapacityUntilResolved() {
        var table = RoutingTable(workflow: workflow)
        #expect(table.upsert(Agent(id: "a1", name: "A", line: "L1", capacity: 2, presence: .online)) == nil)
        for id in ["T1", "T2", "T3"] { table.account(before: nil, after: fact(id)) }
        let first = table.propose()
        #expect(first.map(\.ticket) == ["T1", "T2"] && first.allSatisfy { $0.agent == "a1" })
        #expect(table.load(of: "a1") == 2 && table.pending == ["T1": "a1", "T2": "a1"])
        #expect(table.propose().isEmpty, "capacity is taken by the pending proposals")

        // T1's owner accepts: its fact arrives, then the proposal is resolved — load stays 2.
        table.account(before: fact("T1"), after: fact("T1", assignee: "a1", version: 2))
        table.resolve("T1")
        #expect(table.load(of: "a1") == 2 && table.waitingTickets(in: "q1") == ["T2", "T3"])
        // T2's owner refuses (its node was down): T2 keeps its place and is proposed again.
        table.resolve("T2")
        #expect(table.load(of: "a1") == 1)
        #expect(table.propose().map(\.ticket) == ["T2"])
    }

    @Test func skippedTicketsAreLeftForLater() {
        var table = RoutingTable(workflow: workflow)
        _ = table.upsert(Agent(id: "a1", name: "A", line: "L1", capacity: 5, presence: .online))
        for id in ["T1", "T2"] { table.account(before: nil, after: fact(id)) }
        #expect(table.propose(skip: { $0 == "T1" }).map(\.ticket) == ["T2"])
        table.markAllQueuesDirty()
        #expect(table.propose().map(\.ticket) == ["T1"])
    }

    @Test func factsMoveTicketsBetweenQueuesAndFreeCapacity() {
        var table = RoutingTable(workflow: workflow)
        _ = table.upsert(Agent(id: "a1", name: "A", line: "L1", capacity: 1, presence: .online))
        table.account(before: nil, after: fact("T1", assignee: "a1"))
        table.account(before: nil, after: fact("T2", priority: .low))
        table.account(before: nil, after: fact("T3", priority: .urgent))
        #expect(table.propose().isEmpty, "a1 is full")
        #expect(table.waitingTickets(in: "q1") == ["T3", "T2"], "urgent first")
        // T3 escalates to q2; T1 is solved: a1 has room for T2.
        table.account(before: fact("T3", priority: .urgent), after: fact("T3", queue: "q2", priority: .urgent, version: 2))
        table.account(before: fact("T1", assignee: "a1"), after: fact("T1", assignee: "a1", open: false, version: 2))
        #expect(table.waitingTickets(in: "q2") == ["T3"])
        #expect(table.propose().map { "\($0.ticket)→\($0.agent)" } == ["T2→a1"])
    }

    @Test func unknownLinesAndQueuesAreRefused() {
        var table = RoutingTable(workflow: workflow)
        #expect(table.upsert(Agent(id: "a", name: "A", line: "L9"))?.code == .unknownLine)
        #expect(table.upsert(Agent(id: "a", name: "A", line: "L1", queues: ["nowhere"]))?.code == .unknownQueue)
        #expect(table.agents.isEmpty)
        #expect(table.setPresence("ghost", .online) == nil)
    }
}
