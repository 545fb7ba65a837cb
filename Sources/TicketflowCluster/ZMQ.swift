import CZeroMQ
import Foundation

/// A thin, owned wrapper over libzmq. The only place in the project that touches libzmq.
///
/// libzmq sockets are not thread-safe: every `ZMQSocket` is used by exactly one thread
/// (the transport's I/O thread), which is why they are not `Sendable`.
public final class ZMQContext: @unchecked Sendable {
    // @unchecked Sendable: a zmq context is documented thread-safe; only `raw` is stored.
    let raw: UnsafeMutableRawPointer

    public init() {
        raw = zmq_ctx_new()!
    }

    deinit { zmq_ctx_term(raw) }
}

public struct ZMQError: Error, CustomStringConvertible {
    public var code: Int32
    public var operation: String
    public var description: String { "\(operation): \(String(cString: zmq_strerror(code)))" }
    static func last(_ operation: String) -> ZMQError { ZMQError(code: zmq_errno(), operation: operation) }
}

public final class ZMQSocket {
    public enum Kind { case router, dealer, reply }
    let raw: UnsafeMutableRawPointer
    /// Held so the context outlives its sockets: `zmq_ctx_term` blocks until every socket is closed.
    private let context: ZMQContext
    /// Set on a ROUTER whose peers authenticate (CURVE with the ZAP handler): each message's
    /// `User-Id` — the node its key belongs to, as the handler said — is read with it.
    public var readsUserID = false
    /// The `User-Id` of the message `receive` returned last, when `readsUserID`.
    public private(set) var lastUserID: String?

    public init(_ context: ZMQContext, _ kind: Kind) throws {
        let type: Int32 = switch kind {
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .reply: ZMQ_REP
        }
        guard let s = zmq_socket(context.raw, type) else { throw ZMQError.last("zmq_socket") }
        raw = s
        self.context = context
        try set(ZMQ_LINGER, Int32(0))
    }

    deinit { zmq_close(raw) }

    public func set(_ option: Int32, _ value: Int32) throws {
        var v = value
        guard zmq_setsockopt(raw, option, &v, MemoryLayout<Int32>.size) == 0 else { throw ZMQError.last("zmq_setsockopt \(option)") }
    }

    public func set(_ option: Int32, _ value: Int64) throws {
        var v = value
        guard zmq_setsockopt(raw, option, &v, MemoryLayout<Int64>.size) == 0 else { throw ZMQError.last("zmq_setsockopt \(option)") }
    }

    public func set(_ option: Int32, bytes: [UInt8]) throws {
        guard bytes.withUnsafeBytes({ zmq_setsockopt(raw, option, $0.baseAddress, $0.count) }) == 0 else { throw ZMQError.last("zmq_setsockopt \(option)") }
    }

    /// The identity a ROUTER peer sees for this socket (set before `connect`).
    public func setRoutingID(_ name: String) throws { try set(ZMQ_ROUTING_ID, bytes: Array(name.utf8)) }

    /// The safe defaults libzmq lacks for a server: a message size limit, heartbeats, and a
    /// short handshake timeout.
    public func hardenForServer(maxMessageBytes: Int64 = 4 << 20) throws {
        try set(ZMQ_MAXMSGSIZE, maxMessageBytes)
        try set(ZMQ_HEARTBEAT_IVL, Int32(1000))
        try set(ZMQ_HEARTBEAT_TIMEOUT, Int32(3000))
        try set(ZMQ_HEARTBEAT_TTL, Int32(3000))
        try set(ZMQ_HANDSHAKE_IVL, Int32(2000))
    }

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(raw, endpoint) == 0 else { throw ZMQError.last("zmq_bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(raw, endpoint) == 0 else { throw ZMQError.last("zmq_connect \(endpoint)") }
    }

    /// Sends a multipart message without blocking; returns false when it would block.
    @discardableResult
    public func send(_ frames: [[UInt8]]) throws -> Bool {
        for (i, frame) in frames.enumerated() {
            let flags = ZMQ_DONTWAIT | (i < frames.count - 1 ? ZMQ_SNDMORE : 0)
            let rc = frame.withUnsafeBytes { zmq_send(raw, $0.baseAddress, $0.count, flags) }
            if rc < 0 {
                if zmq_errno() == EAGAIN && i == 0 { return false }
                throw ZMQError.last("zmq_send")
            }
        }
        return true
    }

    /// The descriptor libzmq signals when the socket's state may have changed (`ZMQ_FD`). It
    /// is consumed by every call on the socket, so after each call `hasInput` must be read
    /// again before waiting on it.
    public func fileDescriptor() throws -> Int32 {
        var fd: Int32 = -1
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(raw, ZMQ_FD, &fd, &size) == 0 else { throw ZMQError.last("zmq_getsockopt ZMQ_FD") }
        return fd
    }

    /// Whether a message is waiting (`ZMQ_EVENTS` has `ZMQ_POLLIN`); also processes the
    /// socket's pending commands, which resets its descriptor.
    public var hasInput: Bool {
        var events: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(raw, ZMQ_EVENTS, &events, &size) == 0 else { return false }
        return events & Int32(ZMQ_POLLIN) != 0
    }

    /// Receives one multipart message if one is waiting. A message of more than `maxParts`
    /// parts is read to its end, but only its first `maxParts + 1` parts are kept: enough for
    /// the caller to see that it is too long, without holding what a hostile peer sent.
    public func receive(maxParts: Int = 1024) throws -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        var parts = 0
        lastUserID = nil
        while true {
            var msg = zmq_msg_t()
            zmq_msg_init(&msg)
            defer { zmq_msg_close(&msg) }
            let rc = zmq_msg_recv(&msg, raw, parts == 0 ? ZMQ_DONTWAIT : 0)
            if rc < 0 {
                if zmq_errno() == EAGAIN && parts == 0 { return nil }
                throw ZMQError.last("zmq_msg_recv")
            }
            parts += 1
            if readsUserID, lastUserID == nil, let user = zmq_msg_gets(&msg, "User-Id") { lastUserID = String(cString: user) }
            if parts <= maxParts + 1 {
                frames.append([UInt8](UnsafeRawBufferPointer(start: zmq_msg_data(&msg)!, count: zmq_msg_size(&msg))))
            }
            guard zmq_msg_more(&msg) == 1 else { return frames }
        }
    }

    /// Receives every waiting message, at most `budget`; `more` tells whether some were left.
    /// Reads until libzmq says nothing is left (`hasInput`), because any call on the socket
    /// may consume the descriptor's signal for messages that arrived before it.
    public func receiveAll(budget: Int, maxParts: Int) -> (messages: [[[UInt8]]], more: Bool) {
        var users: [String?] = []
        return receiveAll(budget: budget, maxParts: maxParts, users: &users)
    }

    /// As `receiveAll(budget:maxParts:)`, with each message's `User-Id` in `users` (when `readsUserID`).
    public func receiveAll(budget: Int, maxParts: Int, users: inout [String?]) -> (messages: [[[UInt8]]], more: Bool) {
        var messages: [[[UInt8]]] = []
        while hasInput {
            while messages.count < budget {
                do {
                    guard let frames = try receive(maxParts: maxParts) else { break }
                    messages.append(frames)
                    if readsUserID { users.append(lastUserID) }
                } catch {
                    return (messages, false)   // the socket is closing; nothing more to read
                }
            }
            if messages.count >= budget { return (messages, hasInput) }
        }
        return (messages, false)
    }
}

/// Waits until one of the sockets (or the file descriptor `wakeFD`, when given) is readable
/// or `timeoutMillis` passes; returns the readable indexes (`sockets.count` stands for `wakeFD`).
public func zmqPoll(_ sockets: [ZMQSocket], wakeFD: Int32? = nil, timeoutMillis: Int) throws -> [Int] {
    var items = sockets.map { zmq_pollitem_t(socket: $0.raw, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
    if let wakeFD { items.append(zmq_pollitem_t(socket: nil, fd: wakeFD, events: Int16(ZMQ_POLLIN), revents: 0)) }
    let rc = zmq_poll(&items, Int32(items.count), timeoutMillis)
    if rc < 0 {
        if zmq_errno() == EINTR { return [] }
        throw ZMQError.last("zmq_poll")
    }
    return items.enumerated().filter { $0.element.revents & Int16(ZMQ_POLLIN) != 0 }.map(\.offset)
}
