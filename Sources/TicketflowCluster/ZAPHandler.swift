import CZeroMQ
import Foundation
import Logging
import Synchronization

/// The ZAP handler (RFC 27) of a node's context: CURVE alone encrypts and proves the server's
/// key, but admits any client key; libzmq asks this handler, on `inproc://zeromq.zap.01`, about
/// every CURVE handshake and admits only the keys listed in the cluster file. A refused key is
/// counted and logged (once a minute per key).
final class ZAPHandler: Sendable {
    static let endpoint = "inproc://zeromq.zap.01"
    /// Binary public key → the node it belongs to.
    let allowed: [[UInt8]: String]
    let socket: Mutex<ZMQSocket?>
    let logger: Logger
    let running = Atomic<Bool>(true)
    let refused = Atomic<Int>(0)
    let admitted = Atomic<Int>(0)
    let complaints = LogOncePerMinute()
    let done = DispatchSemaphore(value: 0)

    /// Binds the handler in `context` (before any socket of the context binds with a ZAP
    /// domain) and starts its thread.
    init(context: ZMQContext, peers: [String: String], logger: Logger) throws {
        var allowed: [[UInt8]: String] = [:]
        for (node, key) in peers {
            guard let binary = CurveKeyPair.binary(key) else { throw CurveKeyPair.Invalid(description: "node \(node): public key is not 40 Z85 characters") }
            allowed[binary] = node
        }
        self.allowed = allowed
        self.logger = logger
        let socket = try ZMQSocket(context, .reply)
        try socket.bind(Self.endpoint)
        self.socket = Mutex(socket)
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "ticketflow-zap"
        thread.start()
    }

    func stop() {
        guard running.exchange(false, ordering: .sequentiallyConsistent) else { return }
        done.wait()
        socket.withLock { $0 = nil }
    }

    private func run() {
        while running.load(ordering: .relaxed) {
            let request: [[UInt8]]?
            do {
                request = try socket.withLock { socket in
                    guard let socket, try !zmqPoll([socket], timeoutMillis: 100).isEmpty else { return nil }   // nothing yet: poll again
                    return try socket.receive(maxParts: 16)
                }
            } catch {
                // An unanswered request makes libzmq refuse that peer; the handler goes on.
                if complaints.allows("zap-socket") { logger.error("ZAP handler: \(error)") }
                Thread.sleep(forTimeInterval: 0.1)
                continue
            }
            guard let request, request.count >= 6 else { continue }
            let reply = answer(request)
            socket.withLock { socket in
                // A reply that cannot be sent leaves the handshake unanswered: libzmq refuses the peer.
                _ = try? socket?.send(reply)
            }
        }
        done.signal()
    }

    /// ZAP request: version, request id, domain, address, routing id, mechanism, credentials…
    /// Reply: version, request id, status code, status text, user id, metadata.
    func answer(_ frames: [[UInt8]]) -> [[UInt8]] {
        let version = frames[0], requestID = frames[1]
        let address = String(decoding: frames[3], as: UTF8.self)
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        func reply(_ code: String, _ text: String, user: String = "") -> [[UInt8]] {
            [version, requestID, Array(code.utf8), Array(text.utf8), Array(user.utf8), []]
        }
        guard mechanism == "CURVE", frames.count >= 7, let node = allowed[frames[6]] else {
            refused.add(1, ordering: .relaxed)
            let key = frames.count >= 7 && frames[6].count == 32 ? Self.z85(frames[6]) : "(\(mechanism))"
            complain(key: key, address: address)
            return reply("400", "unknown key")
        }
        admitted.add(1, ordering: .relaxed)
        return reply("200", "OK", user: node)
    }

    private func complain(key: String, address: String) {
        if complaints.allows(key) { logger.warning("refused a peer from \(address): its key \(key) is not in the cluster file") }
    }

    static func z85(_ binary: [UInt8]) -> String {
        var out = [CChar](repeating: 0, count: 41)
        _ = zmq_z85_encode(&out, binary, binary.count)
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
