import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Limits on a node's HTTP connections, so that holding connections open costs an attacker
/// as much as it costs the node.
public struct ConnectionLimits: Sendable {
    /// A connection must send a request's head within this long of opening or of its previous
    /// answer (an idle keep-alive connection is closed after it too).
    public var headTimeout: TimeAmount = .seconds(10)
    /// A request, once its head is in, must be complete within this long.
    public var requestTimeout: TimeAmount = .seconds(30)
    /// Open connections from one address at most; further ones are closed at once.
    public var perAddress = 256
    public init() {}
}

/// Open connections per client address, shared by every connection of the server.
final class ConnectionCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    let limit: Int
    init(limit: Int) { self.limit = limit }

    func admit(_ address: String) -> Bool {
        counts.withLock { counts in
            let n = counts[address, default: 0]
            guard n < limit else { return false }
            counts[address] = n + 1
            return true
        }
    }

    func release(_ address: String) {
        counts.withLock { counts in
            let n = counts[address, default: 1] - 1
            counts[address] = n > 0 ? n : nil
        }
    }

    var open: Int { counts.withLock { $0.values.reduce(0, +) } }
}

/// Sits in each connection's pipeline after HTTP decoding: closes a connection whose request
/// head does not arrive in time (a slow or idle client), whose request does not complete in
/// time (a trickled body), or which is one too many from its address.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    private let counter: ConnectionCounter
    private var deadline: Scheduled<Void>?
    private var address: String?
    private var started = false

    init(limits: ConnectionLimits, counter: ConnectionCounter) {
        self.limits = limits
        self.counter = counter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { opened(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        opened(context)
        context.fireChannelActive()
    }

    private func opened(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard counter.admit(address) else {
            context.close(promise: nil)
            return
        }
        self.address = address
        arm(context, limits.headTimeout)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(context, limits.requestTimeout)
        case .end: disarm()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(context, limits.headTimeout) }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        if let address { counter.release(address) }
        address = nil
        context.fireChannelInactive()
    }

    private func arm(_ context: ChannelHandlerContext, _ timeout: TimeAmount) {
        disarm()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) { bound.value.close(promise: nil) }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}
