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
    public enum Kind { case router, dealer }
    let raw: UnsafeMutableRawPointer
    /// Held so the context outlives its sockets: `zmq_ctx_term` blocks until every socket is closed.
    private let context: ZMQContext

    public init(_ context: ZMQContext, _ kind: Kind) throws {
        guard let s = zmq_socket(context.raw, kind == .router ? ZMQ_ROUTER : ZMQ_DEALER) else { throw ZMQError.last("zmq_socket") }
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

    /// Receives one multipart message if one is waiting.
    public func receive() throws -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        while true {
            var msg = zmq_msg_t()
            zmq_msg_init(&msg)
            defer { zmq_msg_close(&msg) }
            let rc = zmq_msg_recv(&msg, raw, frames.isEmpty ? ZMQ_DONTWAIT : 0)
            if rc < 0 {
                if zmq_errno() == EAGAIN && frames.isEmpty { return nil }
                throw ZMQError.last("zmq_msg_recv")
            }
            let size = zmq_msg_size(&msg)
            let data = zmq_msg_data(&msg)!
            frames.append([UInt8](UnsafeRawBufferPointer(start: data, count: size)))
            guard zmq_msg_more(&msg) == 1 else { return frames }
        }
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
