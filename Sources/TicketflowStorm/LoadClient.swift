import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import TicketflowAPI

/// A small HTTP/1.1 client for load generation: a fixed pool of keep-alive connections per
/// target, one request at a time on each. Built on NIO so a storm of thousands of requests a
/// second costs little CPU next to the node it measures.
public actor LoadClient {
    public struct Reply: Sendable {
        public var status: Int
        public var body: ByteBuffer
        /// The body as an API value; a body that does not decode as `T` is an error.
        public func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var kind: String
        public var description: String { kind }
    }

    struct Target { var host: String; var port: Int }

    private let group: MultiThreadedEventLoopGroup
    private let targets: [Target]
    private let perTarget: Int
    private var idle: [[Channel]]
    private var open: [Int]
    private var waiters: [[CheckedContinuation<Channel, any Error>]]
    private var closed = false
    private let authorization: String?

    /// - Parameters:
    ///   - urls: base URLs such as `http://127.0.0.1:8080`.
    ///   - connections: connections per target.
    ///   - token: sent as `Authorization: Bearer …` on every request.
    public init(urls: [String], connections: Int, token: String? = nil) throws {
        self.authorization = token.map { "Bearer \($0)" }
        var targets: [Target] = []
        for url in urls {
            guard let u = URL(string: url), u.scheme == "http", let host = u.host else {
                throw Failure(kind: "bad target URL \(url): expected http://HOST:PORT")
            }
            targets.append(Target(host: host, port: u.port ?? 80))
        }
        self.targets = targets
        self.perTarget = max(1, connections)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.idle = Array(repeating: [], count: targets.count)
        self.open = Array(repeating: 0, count: targets.count)
        self.waiters = Array(repeating: [], count: targets.count)
    }

    public var targetCount: Int { targets.count }

    /// Sends one request to target `index` and waits for the whole response.
    public func send(_ method: HTTPMethod, _ path: String, body value: some Encodable, target index: Int) async throws -> Reply {
        try await send(method, path, json: JSONOutput.data(value), target: index)
    }

    public func send(_ method: HTTPMethod, _ path: String, json: Data? = nil, target index: Int) async throws -> Reply {
        let channel = try await acquire(index)
        let promise = channel.eventLoop.makePromise(of: Reply.self)
        var headers = HTTPHeaders([("Host", "\(targets[index].host):\(targets[index].port)"), ("Connection", "keep-alive")])
        if json != nil { headers.add(name: "Content-Type", value: "application/json") }
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        headers.add(name: "Content-Length", value: String(json?.count ?? 0))
        let request = OutgoingRequest(head: HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers),
                                      body: json.map { ByteBuffer(bytes: $0) }, promise: promise)
        channel.writeAndFlush(request, promise: nil)
        do {
            let reply = try await promise.futureResult.get()
            release(channel, index)
            return reply
        } catch {
            open[index] -= 1
            channel.close(promise: nil)
            throw Failure(kind: "connection: \(error)")
        }
    }

    private func acquire(_ index: Int) async throws -> Channel {
        guard !closed else { throw Failure(kind: "client closed") }
        // A node closes connections idle longer than its head timeout: such a one is dropped
        // (freeing its slot) and the next idle one, or a new one, is used.
        while let channel = idle[index].popLast() {
            if channel.isActive { return channel }
            open[index] -= 1
        }
        if open[index] < perTarget {
            open[index] += 1
            do {
                return try await connect(targets[index])
            } catch {
                open[index] -= 1
                throw Failure(kind: "connect: \(error)")
            }
        }
        return try await withCheckedThrowingContinuation { waiters[index].append($0) }
    }

    private func release(_ channel: Channel, _ index: Int) {
        if !waiters[index].isEmpty {
            waiters[index].removeFirst().resume(returning: channel)
        } else {
            idle[index].append(channel)
        }
    }

    private func connect(_ target: Target) async throws -> Channel {
        try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector())
                }
            }
            .connect(host: target.host, port: target.port).get()
    }

    /// Closes every connection; waiting requests fail.
    public func close() async {
        closed = true
        for list in waiters { for w in list { w.resume(throwing: Failure(kind: "client closed")) } }
        waiters = waiters.map { _ in [] }
        // Closing at the end of a storm: a connection the node already closed has nothing left to lose.
        for list in idle { for c in list { try? await c.close() } }
        idle = idle.map { _ in [] }
        try? await group.shutdownGracefully()
    }
}

/// A request and the promise its response completes.
struct OutgoingRequest: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var promise: EventLoopPromise<LoadClient.Reply>
}

/// Writes requests and matches responses to them in order (one in flight per connection).
final class ResponseCollector: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = OutgoingRequest
    typealias OutboundOut = HTTPClientRequestPart

    private var pending = CircularBuffer<EventLoopPromise<LoadClient.Reply>>()
    private var status = 0
    private var body = ByteBuffer()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        pending.append(request.promise)
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if let body = request.body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            if !pending.isEmpty { pending.removeFirst().succeed(LoadClient.Reply(status: status, body: body)) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(LoadClient.Failure(kind: "connection closed"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        while !pending.isEmpty { pending.removeFirst().fail(error) }
    }
}
