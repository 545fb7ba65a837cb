import TicketflowServer
import Foundation
import TicketflowAPI
import TicketflowCluster
import TicketflowCore
import TicketflowNode
import TicketflowStorage

/// Cluster-wide routing, as the gateway sees it: who the routing owner is, and the calls
/// between it and the ticket owners (see `ClusterRouter`).
extension ClusterGateway {
    /// The node that keeps every agent and routes every ticket: the owner of the partition of
    /// the key `routing`, so every node agrees on it from the cluster file alone.
    var routingOwner: String { map.owner(of: map.partition(forKey: "routing")) }

    /// The partitions (named after their first home nodes), each served by its leader.
    var members: [String] { config.shardNames }

    func owner(ofTicket id: String) -> String { map.owner(of: partition(ofTicket: id)) }

    /// Members heard from lately, this node included — in a replicated cluster, the
    /// partitions (named after their home nodes) whose leader was heard from lately.
    func liveMembers() -> Set<String> {
        let heard = system.transport.liveness
        return Set(members.filter { isAlive(leader(of: $0), heard: heard) })
    }

    /// This node's routing facts go to the routing owner (a local call when it is this node).
    func sendRoutingFacts(_ facts: [RoutingFact]) async throws {
        let owner = leader(of: routingOwner)
        guard isAlive(owner), let service = services[owner] else { throw ClusterCallError("routing owner \(owner) is not answering heartbeats") }
        try await service.routingFacts(RoutingFacts(facts))
    }

    /// A page of a member's open tickets' routing facts, and where the next page starts.
    func openRoutingFacts(of shard: String, after: Int64, limit: Int) async throws -> (facts: [RoutingFact], next: Int64?) {
        guard let service = services[leader(of: shard)] else { throw ClusterCallError("no member \(leader(of: shard))") }
        let page = try await service.openRoutingFacts(after: Int(after), limit: limit, shard: shard)
        return (page.facts, page.next)
    }

    /// Has a ticket's owner decide an assignment; its routing fact after, or nil if not open there.
    func assign(_ proposal: RoutingTable.Proposal, at shard: String) async throws -> RoutingFact? {
        let member = leader(of: shard)
        guard isAlive(member), let service = services[member] else { throw ClusterCallError("\(member) is not answering heartbeats") }
        return try await service.assign(RoutingProposal(proposal), shard: shard).facts.first
    }

    /// Checks with the routing owner that an agent exists before a ticket is assigned to it by
    /// hand: 409 `unknown_agent` if not, 503 if the routing owner does not answer.
    func checkAgent(_ agentID: String) async throws {
        let owner = leader(of: routingOwner)
        guard await awaitAlive(owner), let service = services[owner] else {
            throw Self.unavailable(owner, why: "the agent list", reason: "it is not answering heartbeats")
        }
        let known: Bool
        do { known = try await service.agentExists(agentID) } catch {
            throw Self.unavailable(owner, why: "the agent list", reason: "\(error)")
        }
        guard known else { throw NodeError.rejected(Rejection(.unknownAgent, "no agent with id '\(agentID)'")) }
    }

    /// Every live member's open tickets assigned to an agent (JSON arrays of ticket views),
    /// and the members that did not answer.
    /// A node that does not answer, or answers what does not decode, is named in `missing`
    /// (and logged): the view is partial, never silently short.
    func openTicketViews(of agentID: String) async -> (tickets: [TicketView], missing: [String]) {
        let answers = await withTaskGroup(of: (String, [TicketView]?).self) { group in
            for member in members {
                group.addTask { [services, logger] in
                    guard self.isAlive(member), let service = services[member] else { return (member, nil) }
                    do {
                        let bytes = try await service.openTicketViews(of: agentID)
                        return (member, try JSONDecoder().decode([TicketView].self, from: Data(bytes)))
                    } catch {
                        logger.warning("open tickets of \(agentID) from \(member): \(error)")
                        return (member, nil)
                    }
                }
            }
            var all: [(String, [TicketView]?)] = []
            for await answer in group { all.append(answer) }
            return all
        }
        return (answers.compactMap(\.1).flatMap { $0 }, answers.filter { $0.1 == nil }.map(\.0).sorted())
    }
}
