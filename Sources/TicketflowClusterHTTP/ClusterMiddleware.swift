import TicketflowServer
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TicketflowAPI

/// Sends every API request to the node that owns what it is about (see `ClusterGateway`).
/// Requests that came from a peer are always handled here, so nothing is forwarded twice.
struct ClusterMiddleware: RouterMiddleware {
    typealias Context = NodeRequestContext
    let gateway: ClusterGateway
    let maxBody: Int

    /// The routes this node serves: where each request goes is read from the same table the
    /// router is built from.
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if ClusterGateway.forwardedFrom != nil { return try await next(request, context) }
        let key = request.headers[HTTPField.Name("Idempotency-Key")!]
        do {
            guard let (shape, parameters) = routes.route(request.method, request.uri.path) else { return try await next(request, context) }
            switch shape.placement {
            case .here:
                return try await next(request, context)
            case .ticket:
                let id = parameters[0]
                let p = gateway.partition(ofTicket: id)
                return try await forward(request, context, to: gateway.map.owner(of: p), why: "ticket \(id) (partition \(p))", next: next)
            case .agents:
                return try await forward(request, context, to: gateway.routingOwner, why: "the agent list", next: next)
            case .create where key != nil:
                let key = key!
                // The same key always reaches the same node, whose idempotency table answers retries.
                let p = gateway.map.partition(forKey: key)
                return try await forward(request, context, to: gateway.map.owner(of: p), why: "Idempotency-Key \(key) (partition \(p))", next: next)
            case .create:
                // A create without a key may go to any node that takes it: one found silent is
                // passed over for the next live one (nothing was sent to it: nothing can double).
                var target = gateway.nextCreateTarget()
                for _ in 1..<max(2, gateway.config.shardNames.count) where target != gateway.me {
                    if await gateway.awaitAlive(gateway.leader(of: target)) { break }
                    target = gateway.nextCreateTarget()
                }
                return try await forward(request, context, to: target, why: "this create", next: next)
            case .gather(let view):
                return try await gather(view, request, context, next: next)
            case .everyNode:
                return try await everyNode(request, context, next: next)
            }
        } catch {
            return APIError.from(error).response()
        }
    }

    private func forward(_ request: Request, _ context: Context, to member: String, why: String,
                         next: (Request, Context) async throws -> Response) async throws -> Response {
        if member == gateway.me { return try await next(request, context) }
        var request = request
        let body = try await JSONResponse.body(&request, limit: maxBody)
        return try await gateway.call(member, request, body: Array(buffer: body), context: context, local: next, why: why)
    }

    /// Asks every live node (this one without the network) and merges their answers; nodes
    /// that did not answer, or answered what does not decode, are named in `unavailable_nodes`.
    private func gather(_ view: Placement.View, _ request: Request, _ context: Context,
                        next: (Request, Context) async throws -> Response) async throws -> Response {
        let local = try await next(request, context)
        // A request this node refuses (a bad parameter, say) is refused the same everywhere.
        guard local.status.code < 300 else { return local }
        var answers = [try await ClusterGateway.collect(local)]
        var missing: [String] = []
        let gateway = self.gateway
        // Each partition once, from whoever leads it (this node's own is the local answer).
        let peers = gateway.config.shardNames.filter { $0 != gateway.me }
        let remote = await withTaskGroup(of: (String, Result<[UInt8], any Error>).self) { group in
            for peer in peers {
                group.addTask {
                    do {
                        let r = try await gateway.call(peer, request, body: [], context: context, local: { _, _ in throw APIError(.internalServerError, "internal", "unreachable") },
                                                       why: "part of this view")
                        guard r.status.code < 300 else { throw APIError(.serviceUnavailable, "owner_unavailable", "\(peer) answered \(r.status.code)") }
                        return (peer, .success(try await ClusterGateway.collect(r)))
                    } catch { return (peer, .failure(error)) }
                }
            }
            var results: [(String, Result<[UInt8], any Error>)] = []
            for await r in group { results.append(r) }
            return results
        }
        for (peer, result) in remote.sorted(by: { $0.0 < $1.0 }) {
            switch result {
            case .success(let bytes): answers.append(bytes)
            case .failure: missing.append(peer)
            }
        }
        func decoded<T: Decodable>(_ type: T.Type) throws -> [T] {
            try answers.map { try JSONDecoder().decode(T.self, from: Data($0)) }
        }
        switch view {
        case .tickets:
            let limit = request.uri.queryParameters.get("limit").flatMap { Int($0) } ?? 50
            if case .ownTickets = context.reach {
                // A requester's own tickets, in the requester view; which nodes are down is not theirs to know.
                return JSONResponse.make(ClusterViews.requesterTickets(try decoded(RequesterTicketPage.self), limit: limit))
            }
            return JSONResponse.make(ClusterViews.tickets(try decoded(TicketPage.self), limit: limit, missing: missing))
        case .queues:
            return JSONResponse.make(ClusterViews.queues(try decoded(QueueList.self), missing: missing))
        case .queue:
            guard let merged = ClusterViews.queue(try decoded(QueueView.self), missing: missing) else { return local }
            return JSONResponse.make(merged)
        }
    }

    /// A workflow change: every node must be up, so the cluster never runs two workflows by
    /// choice. Applied here first (which validates it), then on each peer.
    private func everyNode(_ request: Request, _ context: Context,
                           next: (Request, Context) async throws -> Response) async throws -> Response {
        let what = request.uri.path.hasPrefix("/api/v1/workflow") ? "the workflow" : "users and tokens"
        let down = gateway.config.nodes.map(\.name).filter { !gateway.isAlive($0) }
        guard down.isEmpty else {
            var e = APIError(.serviceUnavailable, "cluster_incomplete",
                             "a change to \(what) needs every node; not answering: \(down.joined(separator: ", "))")
            e.retryAfter = 5
            throw e
        }
        var request = request
        let body = try await JSONResponse.body(&request, limit: maxBody)
        var local = try await next(Request(head: request.head, body: .init(buffer: body)), context)
        guard local.status.code < 300 else { return local }
        // What this node chose at random (a new user's id and token) goes to the peers with the
        // request, so every node stores the same; the client never sees the header.
        var head = request.head
        head.headerFields[AuthenticationMiddleware.chosenHeader] = local.headers[AuthenticationMiddleware.chosenHeader]
        local.headers[AuthenticationMiddleware.chosenHeader] = nil
        let outbound = Request(head: head, body: .init(buffer: body))
        var failed: [String] = []
        for peer in gateway.config.everyStore where peer != gateway.me {
            // A peer that fails is named in the 503 below: the caller sends the change again.
            let r = try? await gateway.call(peer, outbound, body: Array(buffer: body), context: context,
                                            local: { _, _ in throw APIError(.internalServerError, "internal", "unreachable") }, why: what)
            if r.map({ $0.status.code >= 300 }) ?? true { failed.append(peer) }
        }
        guard failed.isEmpty else {
            var e = APIError(.serviceUnavailable, "cluster_incomplete",
                             "\(what) changed here but not yet on \(failed.joined(separator: ", ")); send the change again")
            e.retryAfter = 5
            throw e
        }
        return local
    }
}
