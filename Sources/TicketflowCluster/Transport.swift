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
/// Threads and batching: each socket sits in a `Mutex` and is used by whichever thread holds
/// it — libzmq sockets are not thread-safe but may move between threads behind a full memory
/// barrier, which the lock is. A caller (or a handler with its reply) appends its frame to
/// the peer's outbox; the first to find the outbox idle starts a sending task. That task runs
/// after the tasks already waiting to run — typically the callers resumed by the same batch of
/// replies — so it finds their frames queued too and sends them all as one multipart message,
/// then reads what arrived on that socket. One message then carries dozens of envelopes, and
/// libzmq, the kernel and the threads wake once per batch instead of once per call (sending
/// inline instead averaged 1.15 envelopes per message). The I/O thread waits on the sockets'
/// descriptors for input nobody else picked up, and keeps time (heartbeats, expiry, retries).
public final class Transport: Sendable {
    /// Largest frame a peer may send: a replicated group commit (up to 20,000 events with
    /// their snapshots) must fit; anything larger is dropped by libzmq before it is read.
    public static let maxMessageBytes: Int64 = 16 << 20
    public typealias Handler = @Sendable (Envelope) async -> Result<[UInt8], Failure>

    /// Why a request failed, as the caller sees it.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    public let node: String
    let handler: Handler
    let logger: Logger
    /// What every heartbeat carries (a fingerprint of the cluster file): a peer whose
    /// heartbeats carry something else runs another membership, so it is never counted alive
    /// and its requests are refused — two nodes that disagree on owners never talk.
    let membership: [UInt8]
    /// The ROUTER bound at this node's endpoint: requests from peers in, replies out.
    let router: Mutex<ZMQSocket?>
    /// Replies waiting to go out through the ROUTER.
    let replies = Mutex<Outbox<Reply>>(Outbox())
    /// One link per peer: its DEALER, its outbox, and the requests waiting for its replies.
    let links: [String: Link]
    let correlations = Atomic<UInt64>(0)
    let malformed = Atomic<Int>(0)
    /// Multipart messages sent, and the envelopes they carried (requests, replies, one-way).
    let sentMessages = Atomic<Int>(0)
    let sentEnvelopes = Atomic<Int>(0)
    let running = Atomic<Bool>(true)
    /// Requests waiting for a peer that has no live connection yet, across all links.
    let blockedCount = Atomic<Int>(0)
    /// When each peer was last complained about, so a flood is logged once a minute.
    let complaints = LogOncePerMinute()
    /// The descriptors the I/O thread waits on: the ROUTER's, then each DEALER's (in `linkOrder`).
    let socketFDs: [Int32]
    let linkOrder: [String]
    /// A pipe that wakes the I/O thread early (stop, a newly blocked request, a budget spent).
    let wakePipe: (read: Int32, write: Int32)
    /// Signalled when the I/O thread has left its loop.
    let ioThreadDone = DispatchSemaphore(value: 0)
    /// With CurveZMQ: the handler that admits only the cluster file's keys.
    let zap: ZAPHandler?

    /// Frames queued for one socket, and whether some thread is sending them.
    struct Outbox<Item> {
        var items: [Item] = []
        var sending = false
    }

    /// A reply (or refusal) for the peer with `identity`.
    struct Reply {
        var identity: [UInt8]
        var frame: [UInt8]
    }

    /// One peer: its DEALER, its outbox and calls, and what we heard from it.
    final class Link: Sendable {
        let peer: String
        let socket: Mutex<ZMQSocket?>
        let calls = Mutex<Calls>(Calls())
        /// Monotonic nanoseconds of the last message from this peer (0 = never).
        let lastHeard = Atomic<UInt64>(0)
        /// Whether the peer's last heartbeat carried another membership.
        let stranger = Atomic<Bool>(false)

        init(peer: String, socket: consuming sending ZMQSocket) {
            self.peer = peer
            self.socket = Mutex(socket)
        }
    }

    /// A peer's requests: those waiting for replies, frames not yet sent, and frames the peer
    /// could not take yet (no live connection), retried until their requests expire.
    struct Calls {
        var pending: [UInt64: Pending] = [:]
        var outbox = Outbox<Outgoing>()
        var blocked: [Outgoing] = []
        var stopped = false
    }

    /// A frame for a peer; `correlation` is 0 for a one-way message.
    struct Outgoing {
        var correlation: UInt64
        var frame: [UInt8]
    }

    struct Pending {
        var continuation: CheckedContinuation<[UInt8], any Error>
        var deadline: UInt64
        var type: String
        var timeout: Duration
    }

    /// Most envelopes sent in one multipart message.
    static let batchLimit = 256

    /// Binds `endpoint`, connects a DEALER to every peer, and starts the I/O thread; throws if
    /// the endpoint cannot be bound.
    public init(node: String, endpoint: String, peers: [String: String], membership: [UInt8] = [], security: LinkSecurity = .plain,
                logger: Logger = Logger(label: "ticketflow.cluster"), handler: @escaping Handler) throws {
        self.node = node
        self.membership = membership
        self.handler = handler
        self.logger = logger
        let context = ZMQContext()
        let router = try ZMQSocket(context, .router)
        try router.hardenForServer(maxMessageBytes: Transport.maxMessageBytes)
        var own: CurveKeyPair?
        var publicKeys: [String: String] = [:]
        if case .curve(let pair, let peerKeys) = security {
            // The ZAP handler is bound before the ROUTER, so no handshake finds it missing.
            zap = try ZAPHandler(context: context, peers: peerKeys, logger: logger)
            try router.set(ZMQ_ZAP_DOMAIN, bytes: Array("ticketflow".utf8))
            try router.set(ZMQ_CURVE_SERVER, Int32(1))
            try router.set(ZMQ_CURVE_SECRETKEY, bytes: Array(pair.secretKey.utf8))
            // A CURVE handshake has a ZAP round trip in it: on a loaded machine 2 s (enough for
            // plain ZMTP) dropped connections that were about to succeed, again and again.
            try router.set(ZMQ_HANDSHAKE_IVL, Int32(5000))
            // A peer that reconnects (its heartbeat timed out on a busy machine, or it was
            // paused) takes its name over from the connection this ROUTER still holds: without
            // handover the ROUTER drops the new connection until the old one times out, and
            // the peer looks silent meanwhile. Safe only because every message's sender is
            // checked against the node its CURVE key belongs to (`receiveRequests`).
            try router.set(ZMQ_ROUTER_HANDOVER, Int32(1))
            router.readsUserID = true
            own = pair
            publicKeys = peerKeys
        } else {
            zap = nil
        }
        try router.bind(endpoint)
        var fds = [try router.fileDescriptor()]
        var links: [String: Link] = [:]
        let order = peers.keys.filter { $0 != node }.sorted()
        for peer in order {
            let dealer = try ZMQSocket(context, .dealer)
            try dealer.set(ZMQ_ROUTING_ID, bytes: Array(node.utf8))
            try dealer.set(ZMQ_MAXMSGSIZE, Transport.maxMessageBytes)
            try dealer.set(ZMQ_HEARTBEAT_IVL, Int32(1000))
            try dealer.set(ZMQ_HEARTBEAT_TIMEOUT, Int32(3000))
            // Queue only on a live connection: while a peer is down a request waits in our
            // `blocked` list until its deadline instead of inside libzmq, where it could run
            // after its caller gave up.
            try dealer.set(ZMQ_IMMEDIATE, Int32(1))
            try dealer.set(ZMQ_SNDHWM, Int32(10_000))
            if let own {
                guard let serverKey = publicKeys[peer] else { throw Failure("no public key for peer \(peer)") }
                try dealer.set(ZMQ_CURVE_SERVERKEY, bytes: Array(serverKey.utf8))
                try dealer.set(ZMQ_CURVE_PUBLICKEY, bytes: Array(own.publicKey.utf8))
                try dealer.set(ZMQ_CURVE_SECRETKEY, bytes: Array(own.secretKey.utf8))
            }
            try dealer.connect(peers[peer]!)
            fds.append(try dealer.fileDescriptor())
            links[peer] = Link(peer: peer, socket: dealer)
        }
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw Failure("cannot create the wake-up pipe: errno \(errno)") }
        for fd in pipeFDs { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        wakePipe = (pipeFDs[0], pipeFDs[1])
        self.router = Mutex(router)
        self.links = links
        linkOrder = order
        socketFDs = fds
        let thread = Thread { [unowned self] in self.runIOThread() }
        thread.name = "ticketflow-zmq-\(node)"
        thread.start()
    }

    /// The pipe is closed only here, when nothing can write to it any more: closing it in
    /// `stop` could let a late writer hit a descriptor number libzmq had reused.
    deinit {
        close(wakePipe.read)
        close(wakePipe.write)
    }

    /// Stops the I/O thread, closes the sockets and fails the requests still waiting. Safe
    /// to call more than once.
    public func stop() {
        guard running.exchange(false, ordering: .sequentiallyConsistent) else { return }
        wake()
        ioThreadDone.wait()
        var waiting: [Pending] = []
        for link in links.values {
            link.calls.withLock { calls in
                waiting += calls.pending.values
                calls = Calls()
                calls.stopped = true
            }
            link.socket.withLock { $0 = nil }
        }
        router.withLock { $0 = nil }
        zap?.stop()
        for p in waiting { p.continuation.resume(throwing: Failure("transport stopped")) }
    }

    /// Peers refused for a key the cluster file does not list (always 0 on plain links).
    public var refusedPeers: Int { zap?.refused.load(ordering: .relaxed) ?? 0 }
    /// Whether links are CurveZMQ (with the ZAP allow-list).
    public var isSecure: Bool { zap != nil }

    func wake() {
        var byte: UInt8 = 1
        _ = write(wakePipe.write, &byte, 1)
    }

    /// Frames dropped because they did not parse.
    public var malformedFrames: Int { malformed.load(ordering: .relaxed) }

    /// Messages sent to peers and the envelopes they carried (heartbeats not counted): their
    /// ratio is how well calls are batched.
    public var traffic: (messages: Int, envelopes: Int) {
        (sentMessages.load(ordering: .relaxed), sentEnvelopes.load(ordering: .relaxed))
    }

    func countSent(messages: Int, envelopes: Int) {
        sentMessages.add(messages, ordering: .relaxed)
        sentEnvelopes.add(envelopes, ordering: .relaxed)
    }

    /// When each peer was last heard from (any message, heartbeats included), on the wall
    /// clock; measured on the monotonic clock, so a wall-clock jump does not change liveness.
    public var liveness: [String: Date?] {
        let now = MonotonicTime.nanoseconds()
        return links.mapValues { link in
            let heard = link.lastHeard.load(ordering: .relaxed)
            guard heard > 0, !link.stranger.load(ordering: .relaxed) else { return nil }
            return Self.heardDate(heard, at: now)
        }
    }

    /// When a peer was last heard, as a date: `heard` is stored by the threads reading its
    /// messages, so it may be later than the `now` read first — then it is now, not 584 years
    /// ago (what a wrapping subtraction made of it: a `503` for a live peer, now and then).
    static func heardDate(_ heard: UInt64, at now: UInt64) -> Date {
        Date(timeIntervalSinceNow: -Double(MonotonicTime.age(of: heard, at: now)) / 1e9)
    }

    /// Sends a request and waits for its reply, at most `timeout`.
    public func request(_ peer: String, type: String, payload: [UInt8], timeout: Duration = .seconds(2)) async throws -> [UInt8] {
        guard let link = links[peer] else { throw Failure("unknown peer \(peer)") }
        let correlation = correlations.add(1, ordering: .relaxed).newValue
        let frame = Envelope(kind: .request, correlation: correlation, sender: node, type: type, payload: payload).encode()
        let deadline = MonotonicTime.nanoseconds() &+ timeout.wholeNanoseconds
        return try await withCheckedThrowingContinuation { continuation in
            // One lock: register the reply's continuation and queue the frame.
            let mustSend = link.calls.withLock { calls -> Bool? in
                guard !calls.stopped else { return nil }
                calls.pending[correlation] = Pending(continuation: continuation, deadline: deadline, type: type, timeout: timeout)
                return calls.outbox.queue(Outgoing(correlation: correlation, frame: frame))
            }
            switch mustSend {
            case nil: continuation.resume(throwing: Failure("transport stopped"))
            case true?: Task { self.flush(link) }
            case false?: break   // the task sending to this peer takes it along
            }
        }
    }

    /// Sends a one-way message (no reply, no delivery guarantee).
    public func send(_ peer: String, type: String, payload: [UInt8]) {
        guard let link = links[peer] else { return }
        let frame = Envelope(kind: .oneWay, correlation: 0, sender: node, type: type, payload: payload).encode()
        if link.calls.withLock({ $0.stopped ? false : $0.outbox.queue(Outgoing(correlation: 0, frame: frame)) }) { Task { self.flush(link) } }
    }

    /// Sends a reply (or a refusal) through the ROUTER to the peer with `identity`.
    func respond(to identity: [UInt8], _ envelope: Envelope) {
        let reply = Reply(identity: identity, frame: envelope.encode())
        if replies.withLock({ $0.queue(reply) }) { Task { self.flushReplies() } }
    }
}

extension Transport.Outbox {
    /// Queues an item; true if the caller must send (nobody else is sending).
    mutating func queue(_ item: Item) -> Bool {
        items.append(item)
        guard !sending else { return false }
        sending = true
        return true
    }

    /// Takes up to `limit` items to send; when none are left, the sender's turn ends.
    mutating func next(limit: Int) -> [Item]? {
        guard !items.isEmpty else {
            sending = false
            return nil
        }
        guard items.count > limit else {
            defer { items = [] }
            return items
        }
        let batch = Array(items[..<limit])
        items.removeFirst(limit)
        return batch
    }
}
