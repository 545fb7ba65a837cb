import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import TicketflowCluster
import TicketflowStorage

/// This node's place in a cluster: the transport to its peers, the partition map, and the
/// rules that send each HTTP request to the node that owns what it is about.
///
/// A request about a ticket goes to the owner of the ticket's partition; about an agent, to
/// the agent's owner; a list gathers from every live node; a workflow change goes to all.
/// What this node owns is handled here, with no network and no serializer; the rest travels
/// over ZeroMQ as a `ForwardedRequest`, and the owner runs it through its own router.
public final class ClusterGateway: Sendable {
    public let config: ClusterConfig
    public let me: String
    public let map: PartitionMap
    let transport: Transport
    let node: DurableCenter
    let logger: Logger
    /// The router's responder, for requests that arrive from peers (set once the router is built).
    private let responder = ResponderSlot()
    private let roundRobin = Atomic<Int>(0)
    let counters = Counters()
    /// A peer counts as alive while heard from (heartbeats included) within this span.
    static let livenessWindow: TimeInterval = 3

    /// Set while a request that came from a peer runs, so it is handled here, never forwarded again.
    @TaskLocal static var forwardedFrom: String?

    /// Binds this node's ZeroMQ endpoint and connects to every peer.
    public init(config: ClusterConfig, me: String, node: DurableCenter, logger: Logger) throws {
        guard let mine = config.node(me) else { throw StartupError(description: "node '\(me)' is not in the cluster file") }
        self.config = config
        self.me = me
        self.map = config.partitionMap
        self.node = node
        self.logger = logger
        let slot = responder, counters = self.counters
        let peers = Dictionary(uniqueKeysWithValues: config.nodes.map { ($0.name, $0.zmq) })
        do {
            transport = try Transport(node: me, endpoint: mine.zmq, peers: peers, logger: logger) { envelope in
                await ClusterGateway.serve(envelope, responder: slot, node: node, counters: counters)
            }
        } catch {
            throw StartupError(description: "cannot bind \(mine.zmq): \(error)")
        }
    }

    /// Requests this node sent to owners, and requests it ran for peers.
    final class Counters: Sendable {
        let forwardedOut = Atomic<Int>(0)
        let servedForPeers = Atomic<Int>(0)
    }

    final class ResponderSlot: Sendable {
        let respond = Mutex<(@Sendable (Request) async throws -> Response)?>(nil)
    }

    /// Hands requests from peers to the router; call once the router's responder is built.
    func attach<R: HTTPResponder>(_ responder: R) where R.Context == BasicRequestContext {
        let channel = NIOAsyncTestingChannel()
        let logger = self.logger
        self.responder.respond.withLock { slot in
            slot = { request in
                try await responder.respond(to: request, context: BasicRequestContext(source: .init(channel: channel, logger: logger)))
            }
        }
    }

    public func stop() { transport.stop() }

    /// Frames dropped because they did not parse.
    public var malformedFrames: Int { transport.malformedFrames }

    // MARK: Ownership and liveness

    /// The partition of a ticket id: a stable hash of the id, modulo the partition count.
    public func partition(ofTicket id: String) -> Int { map.partition(forKey: id) }

    public func owner(ofTicket id: String) -> String { map.owner(of: partition(ofTicket: id)) }

    /// Agents are owned by the node that owns the partition of `agent:<id>`.
    public func owner(ofAgent id: String) -> String { map.owner(of: map.partition(forKey: "agent:" + id)) }

    /// Whether this node may mint a ticket number: its partition is one this node owns.
    public func admits(ticketNumber: Int64) -> Bool { owner(ofTicket: String(ticketNumber)) == me }

    /// When each member was last heard from; this node is always alive to itself.
    func lastHeard() -> [String: Date?] {
        var heard = transport.liveness
        heard[me] = Date()
        return heard
    }

    func isAlive(_ member: String, heard: [String: Date?]? = nil) -> Bool {
        if member == me { return true }
        guard let last = (heard ?? transport.liveness)[member] ?? nil else { return false }
        return Date().timeIntervalSince(last) <= Self.livenessWindow
    }

    /// The node a create without an Idempotency-Key goes to: live members in turn.
    func nextCreateTarget() -> String {
        let heard = transport.liveness
        let live = config.nodes.map(\.name).filter { isAlive($0, heard: heard) }
        let turn = roundRobin.add(1, ordering: .relaxed).newValue
        return live[turn % live.count]
    }

    // MARK: Calls to peers

    /// Runs a request on `member`: here when it is this node, over ZeroMQ otherwise. A dead or
    /// silent member gives 503 with Retry-After — never a guess.
    func call(_ member: String, _ request: Request, body: [UInt8], context: BasicRequestContext,
              local: (Request, BasicRequestContext) async throws -> Response, why: String) async throws -> Response {
        if member == me { return try await local(request, context) }
        guard isAlive(member) else { throw Self.unavailable(member, why: why, reason: "it is not answering heartbeats") }
        let forwarded = ForwardedRequest(
            method: request.method.rawValue, target: request.uri.description,
            headers: ForwardedRequest.carriedHeaders.compactMap { name in
                request.headers[HTTPField.Name(name)!].map { .init(name: name, value: $0) }
            },
            body: body)
        counters.forwardedOut.add(1, ordering: .relaxed)
        let reply: [UInt8]
        do { reply = try await transport.request(member, type: "http", payload: forwarded.encode(), timeout: .seconds(5)) } catch {
            throw Self.unavailable(member, why: why, reason: "\(error)")
        }
        let answer: ForwardedResponse
        do { answer = try ForwardedResponse.decode(reply) } catch {
            throw Self.unavailable(member, why: why, reason: "its answer did not parse: \(error)")
        }
        var headers = HTTPFields()
        for h in answer.headers { if let name = HTTPField.Name(h.name) { headers[name] = h.value } }
        headers[HTTPField.Name("X-Ticketflow-Node")!] = member
        return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    static func unavailable(_ member: String, why: String, reason: String) -> APIError {
        var e = APIError(.serviceUnavailable, "owner_unavailable", "\(why) belongs to node \(member), and \(reason); retry shortly")
        e.retryAfter = 2
        return e
    }

    /// Asks a member for its load (tickets, timers, agents) as JSON bytes, at most one second.
    func status(of member: String) async -> [UInt8]? {
        if member == me { return await Self.status(of: node) }
        guard isAlive(member) else { return nil }
        return try? await transport.request(member, type: "status", payload: [], timeout: .seconds(1))
    }

    static func status(of node: DurableCenter) async -> [UInt8] {
        Array(JSONWriter.data(["active_tickets": await node.activeTickets, "pending_timers": await node.pendingTimers,
                               "agents": await node.agents().count, "healthy": await node.isHealthy]))
    }

    // MARK: Requests from peers

    private static func serve(_ envelope: Envelope, responder: ResponderSlot, node: DurableCenter,
                              counters: Counters) async -> Result<[UInt8], Transport.Failure> {
        switch envelope.type {
        case "status":
            return .success(await status(of: node))
        case "http":
            guard let respond = responder.respond.withLock({ $0 }) else { return .failure(.init("node is starting")) }
            let forwarded: ForwardedRequest
            do { forwarded = try ForwardedRequest.decode(envelope.payload) } catch { return .failure(.init("malformed forwarded request: \(error)")) }
            counters.servedForPeers.add(1, ordering: .relaxed)
            var fields = HTTPFields()
            for h in forwarded.headers { if let name = HTTPField.Name(h.name) { fields[name] = h.value } }
            let head = HTTPRequest(method: HTTPRequest.Method(forwarded.method) ?? .get, scheme: nil, authority: nil,
                                   path: forwarded.target, headerFields: fields)
            let request = Request(head: head, body: .init(buffer: ByteBuffer(bytes: forwarded.body)))
            do {
                let response = try await $forwardedFrom.withValue(envelope.sender) { try await respond(request) }
                return .success(try await encode(response).encode())
            } catch {
                return .success(try! await encode(APIError.from(error).response()).encode())
            }
        default:
            return .failure(.init("unknown message type \(envelope.type)"))
        }
    }

    /// The wire form of a response: its status, the headers clients need, and its body.
    static func encode(_ response: Response) async throws -> ForwardedResponse {
        let body = try await collect(response)
        let headers = ForwardedResponse.carriedHeaders.compactMap { name in
            response.headers[HTTPField.Name(name)!].map { ForwardedRequest.Header(name: name, value: $0) }
        }
        return ForwardedResponse(status: response.status.code, headers: headers, body: body)
    }

    /// Reads a response body into bytes.
    static func collect(_ response: Response) async throws -> [UInt8] {
        let sink = BodySink()
        try await response.body.write(sink)
        return sink.bytes
    }
}

/// Collects a response body (used in one task; no sharing).
private final class BodySink: ResponseBodyWriter {
    var bytes: [UInt8] = []
    func write(_ buffer: ByteBuffer) async throws { bytes.append(contentsOf: buffer.readableBytesView) }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
