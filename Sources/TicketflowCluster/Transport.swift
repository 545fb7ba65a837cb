import CZeroMQ
import Foundation
import Logging
import Synchronization

/// Node-to-node messaging over ZeroMQ: a ROUTER socket bound at this node's endpoint takes
/// requests; one DEALER per peer (identity = this node's name) sends them and receives the
/// replies. Request/reply with correlation ids and timeouts, one-way messages, heartbeats
/// every second (peer liveness, in the spirit of the zguide's Paranoid Pirate). A malformed
/// or unknown frame is dropped, counted, and logged at most once per peer per minute.
///
/// All sockets live on one I/O thread (libzmq sockets are not thread-safe); other threads
/// hand it work through a locked queue.
public final class Transport: @unchecked Sendable {
    // @unchecked Sendable: sockets are touched only by the I/O thread; every other mutable
    // field is guarded by `lock`.
    public typealias Handler = @Sendable (Envelope) async -> Result<[UInt8], Failure>

    /// Why a request failed, as the caller sees it.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    public let node: String
    private let endpoint: String
    private let peers: [String: String]
    private let handler: Handler
    private let logger: Logger
    private let context = ZMQContext()
    private let lock = NSLock()
    /// Frames for the I/O thread: to a peer's DEALER, or (peer nil) a reply through the ROUTER;
    /// `correlation` names the request to fail if the peer cannot take it.
    private var outbound: [Outbound] = []
    private struct Outbound {
        var peer: String?
        var frames: [[UInt8]]
        var correlation: UInt64?
    }
    /// Requests waiting for their reply, with the instant they time out.
    private var pending: [UInt64: Pending] = [:]
    private struct Pending {
        var continuation: CheckedContinuation<[UInt8], any Error>
        var deadline: ContinuousClock.Instant
        var peer: String
        var type: String
        var timeout: Duration
        /// Written only when the request expires: formatting it for every request cost more than the send.
        var expiry: Failure { Failure("\(peer) did not answer \(type) within \(timeout)") }
    }
    private let correlations = Atomic<UInt64>(0)
    private var lastHeard: [String: Date] = [:]
    private var lastComplaint: [String: Date] = [:]
    private var malformed = 0
    private var running = true
    private var thread: Thread?
    private let ready = DispatchSemaphore(value: 0)
    /// A pipe that wakes the I/O thread from `zmq_poll` when work is queued for it.
    private let wakePipe: (read: Int32, write: Int32)
    /// True while the I/O thread waits in `zmq_poll` with nothing queued.
    private var sleeping = false
    private var startError: (any Error)?

    /// What every heartbeat carries (a fingerprint of the cluster file): a peer whose
    /// heartbeats carry something else runs another membership, so it is never counted alive
    /// and its requests are refused — two nodes that disagree on owners never talk.
    private let membership: [UInt8]
    /// Peers whose last heartbeat carried another membership.
    private var strangers: Set<String> = []

    /// Starts the I/O thread; throws if the endpoint cannot be bound.
    public init(node: String, endpoint: String, peers: [String: String], membership: [UInt8] = [],
                logger: Logger = Logger(label: "ticketflow.cluster"), handler: @escaping Handler) throws {
        self.node = node
        self.membership = membership
        self.endpoint = endpoint
        self.peers = peers.filter { $0.key != node }
        self.handler = handler
        self.logger = logger
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Failure("cannot create the wake-up pipe: errno \(errno)") }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        wakePipe = (fds[0], fds[1])
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "ticketflow-zmq-\(node)"
        self.thread = thread
        thread.start()
        ready.wait()
        if let startError { throw startError }
    }

    /// Stops the I/O thread; pending requests fail. Safe to call more than once: the wake-up
    /// pipe is closed exactly once (a second close could hit a descriptor reused by libzmq).
    public func stop() {
        let (waiting, first) = lock.withLock { () -> ([CheckedContinuation<[UInt8], any Error>], Bool) in
            defer { running = false; pending = [:] }
            return (pending.values.map(\.continuation), running)
        }
        for w in waiting { w.resume(throwing: Failure("transport stopped")) }
        guard first else { return }
        wake()
        while lock.withLock({ thread != nil }) { usleep(1000) }
        close(wakePipe.read)
        close(wakePipe.write)
    }

    /// Queues frames for the I/O thread and wakes it if it is waiting in `zmq_poll`.
    private func enqueue(_ peer: String?, _ frames: [[UInt8]], correlation: UInt64? = nil) -> Bool {
        let (accepted, mustWake) = lock.withLock { () -> (Bool, Bool) in
            guard running else { return (false, false) }
            outbound.append(Outbound(peer: peer, frames: frames, correlation: correlation))
            defer { sleeping = false }
            return (true, sleeping)
        }
        if mustWake { wake() }
        return accepted
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
    }

    /// Frames dropped because they did not parse.
    public var malformedFrames: Int { lock.withLock { malformed } }

    /// When each peer was last heard from (any message, heartbeats included).
    public var liveness: [String: Date?] {
        lock.withLock { Dictionary(uniqueKeysWithValues: peers.keys.map { ($0, lastHeard[$0]) }) }
    }

    /// Sends a request and waits for its reply, at most `timeout`.
    public func request(_ peer: String, type: String, payload: [UInt8], timeout: Duration = .seconds(2)) async throws -> [UInt8] {
        guard peers[peer] != nil else { throw Failure("unknown peer \(peer)") }
        let correlation = correlations.add(1, ordering: .relaxed).newValue
        let frame = Envelope(kind: .request, correlation: correlation, sender: node, type: type, payload: payload).encode()
        let deadline = ContinuousClock.now + timeout
        // One lock: register the reply's continuation and queue the frame. The I/O thread
        // fails the request once the deadline passes (checked every poll round, ≤ 100 ms).
        return try await withCheckedThrowingContinuation { continuation in
            let (accepted, mustWake) = lock.withLock { () -> (Bool, Bool) in
                guard running else { return (false, false) }
                pending[correlation] = Pending(continuation: continuation, deadline: deadline, peer: peer, type: type, timeout: timeout)
                outbound.append(Outbound(peer: peer, frames: [frame], correlation: correlation))
                defer { sleeping = false }
                return (true, sleeping)
            }
            if mustWake { wake() }
            if !accepted { continuation.resume(throwing: Failure("transport stopped")) }
        }
    }

    /// Sends a one-way message (no reply, no delivery guarantee).
    public func send(_ peer: String, type: String, payload: [UInt8]) {
        let frame = Envelope(kind: .oneWay, correlation: 0, sender: node, type: type, payload: payload).encode()
        _ = enqueue(peer, [frame])
    }

    private func fail(_ correlation: UInt64, _ error: any Error) {
        let c = lock.withLock { pending.removeValue(forKey: correlation) }
        c?.continuation.resume(throwing: error)
    }

    /// Fails every request whose deadline has passed.
    private func expireRequests() {
        let now = ContinuousClock.now
        let expired = lock.withLock { () -> [Pending] in
            let keys = pending.filter { $0.value.deadline <= now }.map(\.key)
            return keys.compactMap { pending.removeValue(forKey: $0) }
        }
        for p in expired { p.continuation.resume(throwing: p.expiry) }
    }

    // MARK: The I/O thread

    private func loop() {
        let router: ZMQSocket
        var dealers: [String: ZMQSocket] = [:]
        do {
            router = try ZMQSocket(context, .router)
            try router.hardenForServer()
            try router.bind(endpoint)
            for (peer, address) in peers.sorted(by: { $0.key < $1.key }) {
                let dealer = try ZMQSocket(context, .dealer)
                try dealer.set(ZMQ_ROUTING_ID, bytes: Array(node.utf8))
                try dealer.set(ZMQ_MAXMSGSIZE, Int64(4 << 20))
                try dealer.set(ZMQ_HEARTBEAT_IVL, Int32(1000))
                try dealer.set(ZMQ_HEARTBEAT_TIMEOUT, Int32(3000))
                // Queue only on a live connection: while a peer is down a request fails at once
                // instead of waiting in a queue and being run after its caller gave up.
                try dealer.set(ZMQ_IMMEDIATE, Int32(1))
                try dealer.set(ZMQ_SNDHWM, Int32(10_000))
                try dealer.connect(address)
                dealers[peer] = dealer
            }
        } catch {
            startError = error
            lock.withLock { thread = nil }
            ready.signal()
            return
        }
        ready.signal()
        let peerNames = dealers.keys.sorted()
        let sockets = [router] + peerNames.map { dealers[$0]! }
        var lastBeat = Date.distantPast
        var lastExpiry = ContinuousClock.now
        // Requests whose peer has no live connection yet: retried each round until they
        // expire, never queued inside libzmq where they could run after their caller gave up.
        var blocked: [Outbound] = []
        while lock.withLock({ running }) {
            if Date().timeIntervalSince(lastBeat) >= 1 {
                lastBeat = Date()
                let beat = Envelope(kind: .heartbeat, correlation: 0, sender: node, type: "heartbeat", payload: membership).encode()
                for name in peerNames { _ = try? dealers[name]!.send([beat]) }
            }
            if ContinuousClock.now - lastExpiry >= .milliseconds(100) {
                lastExpiry = .now
                expireRequests()
            }
            let retries = blocked
            blocked = []
            let work = lock.withLock { () -> [Outbound] in
                defer { outbound = [] }
                sleeping = outbound.isEmpty && retries.isEmpty
                return retries.filter { pending[$0.correlation!] != nil } + outbound
            }
            for item in work {
                // A request or one-way message goes out on the peer's DEALER; a reply goes back
                // through the ROUTER, addressed by the requester's identity.
                if let peer = item.peer, let dealer = dealers[peer] {
                    let sent = (try? dealer.send(item.frames)) ?? false
                    if !sent, item.correlation != nil { blocked.append(item) }
                } else {
                    _ = try? router.send(item.frames)
                }
            }
            guard let readable = try? zmqPoll(sockets, wakeFD: wakePipe.read, timeoutMillis: !blocked.isEmpty ? 5 : work.isEmpty ? 100 : 0) else { continue }
            lock.withLock { sleeping = false }
            for index in readable where index == sockets.count {
                var drain = [UInt8](repeating: 0, count: 256)
                while read(wakePipe.read, &drain, drain.count) > 0 {}
            }
            for index in readable where index < sockets.count {
                var budget = 1000   // bounded per poll round, so one flood cannot starve the rest
                while budget > 0, let frames = try? sockets[index].receive() {
                    budget -= 1
                    if index == 0 { inboundRequest(frames) } else { inboundReply(frames, from: peerNames[index - 1]) }
                }
            }
        }
        lock.withLock { thread = nil }
    }

    private func inboundRequest(_ frames: [[UInt8]]) {
        guard frames.count == 2, let identity = String(validating: frames[0], as: UTF8.self) else {
            complain(about: frames.first.flatMap { String(validating: $0, as: UTF8.self) } ?? "unknown", "expected 2 frames, got \(frames.count)")
            return
        }
        let envelope: Envelope
        do { envelope = try Envelope.decode(frames[1]) } catch {
            complain(about: identity, error.reason)
            return
        }
        guard peers[envelope.sender] != nil, envelope.sender == identity else {
            complain(about: identity, "sender '\(envelope.sender)' is not a member of the cluster")
            return
        }
        if envelope.kind == .heartbeat {
            let agrees = envelope.payload == membership
            lock.withLock {
                if agrees { strangers.remove(envelope.sender); lastHeard[envelope.sender] = Date() } else { strangers.insert(envelope.sender) }
            }
            if !agrees { complain(about: identity, "runs a different cluster file; it is treated as down", counted: false) }
            return
        }
        let stranger = lock.withLock { () -> Bool in
            if strangers.contains(envelope.sender) { return true }
            lastHeard[envelope.sender] = Date()
            return false
        }
        switch envelope.kind {
        case .heartbeat:
            return
        case .request where stranger:
            let refusal = Envelope(kind: .failure, correlation: envelope.correlation, sender: node, type: envelope.type,
                                   payload: Array("\(node) runs a different cluster file".utf8))
            _ = enqueue(nil, [Array(identity.utf8), refusal.encode()])
        case .oneWay where stranger:
            return
        case .request, .oneWay:
            let handler = self.handler, node = self.node
            Task { [weak self] in
                let result = await handler(envelope)
                guard envelope.kind == .request, let self else { return }
                let reply: Envelope
                switch result {
                case .success(let payload): reply = Envelope(kind: .reply, correlation: envelope.correlation, sender: node, type: envelope.type, payload: payload)
                case .failure(let f): reply = Envelope(kind: .failure, correlation: envelope.correlation, sender: node, type: envelope.type, payload: Array(f.reason.utf8))
                }
                _ = self.enqueue(nil, [Array(identity.utf8), reply.encode()])
            }
        case .reply, .failure:
            complain(about: identity, "a \(envelope.kind) arrived on the request socket")
        }
    }

    private func inboundReply(_ frames: [[UInt8]], from peer: String) {
        guard frames.count == 1, let envelope = try? Envelope.decode(frames[0]) else {
            complain(about: peer, "malformed reply")
            return
        }
        let now = Date()
        let continuation = lock.withLock { () -> Pending? in
            lastHeard[peer] = now
            return pending.removeValue(forKey: envelope.correlation)
        }
        switch envelope.kind {
        case .reply: continuation?.continuation.resume(returning: envelope.payload)
        case .failure: continuation?.continuation.resume(throwing: Failure(String(decoding: envelope.payload, as: UTF8.self)))
        default: complain(about: peer, "a \(envelope.kind) arrived on a reply socket")
        }
    }

    /// Counts a dropped frame (unless `counted` is false); logs at most once per peer per minute.
    private func complain(about peer: String, _ reason: String, counted: Bool = true) {
        let shouldLog = lock.withLock { () -> Bool in
            if counted { malformed += 1 }
            if let last = lastComplaint[peer], Date().timeIntervalSince(last) < 60 { return false }
            lastComplaint[peer] = Date()
            return true
        }
        if shouldLog {
            if counted { logger.warning("dropped a malformed frame from \(peer): \(reason) (further ones this minute are only counted)") }
            else { logger.error("peer \(peer) \(reason)") }
        }
    }
}
