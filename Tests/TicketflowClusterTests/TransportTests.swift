import Foundation
import Synchronization
import Testing
@testable import TicketflowCluster

/// Transports of several nodes over ZeroMQ on loopback, in one process.
@Suite(.serialized, .timeLimit(.minutes(1))) struct TransportTests {
    /// A free loopback TCP port (bound and released; good enough for tests on one machine).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func echo(_ node: String) -> Transport.Handler {
        { envelope in
            if envelope.type == "fail" { return .failure(Transport.Failure("asked to fail")) }
            return .success(Array("\(node) got \(envelope.type) from \(envelope.sender): ".utf8) + envelope.payload)
        }
    }

    func cluster(_ names: [String], running: [String]? = nil) throws -> [String: Transport] {
        let endpoints = Dictionary(uniqueKeysWithValues: names.map { ($0, "tcp://127.0.0.1:\(Self.freePort())") })
        var out: [String: Transport] = [:]
        for name in running ?? names {
            out[name] = try Transport(node: name, endpoint: endpoints[name]!, peers: endpoints, handler: Self.echo(name))
        }
        return out
    }

    @Test func envelopesRoundTripAndGarbageIsRefused() throws {
        let e = Envelope(kind: .request, correlation: 300_000, sender: "n1", type: "ticket.get", payload: [1, 2, 3])
        #expect(try Envelope.decode(e.encode()) == e)
        let v = Envelope.version
        // Empty, too short, an older protocol version, an unknown kind, a runaway number, a name past the end.
        for junk: [UInt8] in [[], [v], [1, 0, 0, 0, 0], [v, 77, 0, 0, 0], [v, 0, 0x80, 0x80, 0x80], [v, 0, 1, 200, 65]] {
            #expect(throws: Envelope.Malformed.self) { _ = try Envelope.decode(junk) }
        }
    }

    /// A peer's last-heard time is stored by the threads that read its messages, so a look may
    /// find it later than the "now" it read first: that is "just now", never 584 years ago
    /// (a wrapping subtraction once made a live peer look silent, 1 look in ~2,600 under
    /// constant traffic, measured with a 2-s busy loop that starved the suites beside it).
    @Test func aPeerHeardAfterTheLookBeganIsHeardJustNow() {
        #expect(MonotonicTime.age(of: 10, at: 25) == 15 && MonotonicTime.age(of: 30, at: 25) == 0)
        let now = MonotonicTime.nanoseconds()
        let later = Transport.heardDate(now + 1_000, at: now)
        #expect(abs(later.timeIntervalSinceNow) < 1, "heard after the look began: \(later)")
        let earlier = Transport.heardDate(now - 2_000_000_000, at: now)
        #expect(abs(earlier.timeIntervalSinceNow + 2) < 1, "heard 2 s before: \(earlier)")
    }

    @Test func requestsAndRepliesBothWays() async throws {
        let nodes = try cluster(["n1", "n2"])
        defer { nodes.values.forEach { $0.stop() } }
        // The first requests wait for the connections to come up: 10 s on a busy machine.
        let reply = try await nodes["n1"]!.request("n2", type: "ticket.get", payload: Array("T1".utf8), timeout: .seconds(10))
        #expect(String(decoding: reply, as: UTF8.self) == "n2 got ticket.get from n1: T1")
        let back = try await nodes["n2"]!.request("n1", type: "ping", payload: [], timeout: .seconds(10))
        #expect(String(decoding: back, as: UTF8.self) == "n1 got ping from n2: ")
        await #expect(throws: Transport.Failure.self) { _ = try await nodes["n1"]!.request("n2", type: "fail", payload: []) }
    }

    @Test func concurrentRequestsGetTheirOwnReplies() async throws {
        let nodes = try cluster(["n1", "n2"])
        defer { nodes.values.forEach { $0.stop() } }
        let n1 = nodes["n1"]!
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let reply = try await n1.request("n2", type: "t", payload: Array("\(i)".utf8))
                    #expect(String(decoding: reply, as: UTF8.self) == "n2 got t from n1: \(i)")
                }
            }
            try await group.waitForAll()
        }
        // Requests queued while another is being sent travel together: fewer messages than calls.
        let sent = n1.traffic
        #expect(sent.envelopes == 200)
        #expect(sent.messages < sent.envelopes, "200 concurrent requests in \(sent.messages) messages")
        #expect(nodes["n2"]!.traffic.envelopes == 200, "one reply each")
    }

    @Test func aRequestWaitsForItsPeerToComeUpWithinItsTimeout() async throws {
        let endpoints = ["n1": "tcp://127.0.0.1:\(Self.freePort())", "n2": "tcp://127.0.0.1:\(Self.freePort())"]
        let n1 = try Transport(node: "n1", endpoint: endpoints["n1"]!, peers: endpoints, handler: Self.echo("n1"))
        defer { n1.stop() }
        // Sent while n2 is not running: held by n1 (not inside libzmq) until n2 is up.
        async let reply = n1.request("n2", type: "early", payload: Array("bird".utf8), timeout: .seconds(5))
        try await Task.sleep(for: .milliseconds(300))
        let n2 = try Transport(node: "n2", endpoint: endpoints["n2"]!, peers: endpoints, handler: Self.echo("n2"))
        defer { n2.stop() }
        #expect(String(decoding: try await reply, as: UTF8.self) == "n2 got early from n1: bird")
    }

    @Test func aDownPeerTimesOutAndHeartbeatsShowLiveness() async throws {
        let nodes = try cluster(["n1", "n2", "n3"], running: ["n1", "n2"])
        defer { nodes.values.forEach { $0.stop() } }
        let started = Date()
        await #expect(throws: Transport.Failure.self) { _ = try await nodes["n1"]!.request("n3", type: "t", payload: [], timeout: .milliseconds(300)) }
        #expect(Date().timeIntervalSince(started) < 2)
        try await Task.sleep(for: .milliseconds(1500))
        let live = nodes["n1"]!.liveness
        #expect(live["n2"].flatMap { $0 } != nil)
        #expect(live["n3"].flatMap { $0 } == nil)
    }

    @Test func garbageFramesAreDroppedAndCountedAndTheNodeKeepsServing() async throws {
        let endpoints = ["n1": "tcp://127.0.0.1:\(Self.freePort())", "n2": "tcp://127.0.0.1:\(Self.freePort())"]
        let n1 = try Transport(node: "n1", endpoint: endpoints["n1"]!, peers: endpoints, handler: Self.echo("n1"))
        let n2 = try Transport(node: "n2", endpoint: endpoints["n2"]!, peers: endpoints, handler: Self.echo("n2"))
        defer { n1.stop(); n2.stop() }
        // An intruder speaking raw ZeroMQ at n1's socket.
        let context = ZMQContext()
        let evil = try ZMQSocket(context, .dealer)
        try evil.setRoutingID("evil")
        try evil.connect(endpoints["n1"]!)
        let junk: [[[UInt8]]] = [[[0xFF, 0x00]], [[1, 0, 0, 4]], [Array("hello".utf8), Array("world".utf8)],
                                 [Envelope(kind: .request, correlation: 1, sender: "evil", type: "x").encode()], [[]],
                                 // Too many envelopes for one message, and a batch with one bad envelope: each dropped whole.
                                 Array(repeating: Envelope(kind: .oneWay, correlation: 0, sender: "n2", type: "x").encode(), count: Transport.batchLimit + 1),
                                 [Envelope(kind: .oneWay, correlation: 0, sender: "n2", type: "x").encode(), [1, 0]]]
        for _ in 0..<50 { for frames in junk { _ = try evil.send(frames) } }
        for _ in 0..<100 where n1.malformedFrames < 350 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(n1.malformedFrames == 350, "each bad message counted once")
        let reply = try await n2.request("n1", type: "still-there", payload: [])
        #expect(String(decoding: reply, as: UTF8.self) == "n1 got still-there from n2: ")
    }

    @Test func nodesWithDifferentClusterFilesNeverTakeEachOtherForPeers() async throws {
        let endpoints = ["n1": "tcp://127.0.0.1:\(Self.freePort())", "n2": "tcp://127.0.0.1:\(Self.freePort())",
                         "n3": "tcp://127.0.0.1:\(Self.freePort())"]
        let n1 = try Transport(node: "n1", endpoint: endpoints["n1"]!, peers: endpoints, membership: [1], handler: Self.echo("n1"))
        let n2 = try Transport(node: "n2", endpoint: endpoints["n2"]!, peers: endpoints, membership: [2], handler: Self.echo("n2"))
        let n3 = try Transport(node: "n3", endpoint: endpoints["n3"]!, peers: endpoints, membership: [1], handler: Self.echo("n3"))
        defer { n1.stop(); n2.stop(); n3.stop() }
        try await Task.sleep(for: .milliseconds(1500))
        #expect(n1.liveness["n3"].flatMap { $0 } != nil, "same file: alive")
        #expect(n1.liveness["n2"].flatMap { $0 } == nil, "another file: never alive")
        #expect(n2.liveness["n1"].flatMap { $0 } == nil)
        await #expect(throws: Transport.Failure.self) { _ = try await n2.request("n1", type: "t", payload: [], timeout: .seconds(1)) }
        #expect(n1.malformedFrames == 0, "a stranger's heartbeats are refused, not counted as garbage")
        let reply = try await n3.request("n1", type: "t", payload: [])
        #expect(String(decoding: reply, as: UTF8.self) == "n1 got t from n3: ")
    }

    @Test func oneWayMessagesArriveWithoutAReply() async throws {
        let endpoints = ["n1": "tcp://127.0.0.1:\(Self.freePort())", "n2": "tcp://127.0.0.1:\(Self.freePort())"]
        let received = Mutex<[String]>([])
        let n1 = try Transport(node: "n1", endpoint: endpoints["n1"]!, peers: endpoints, handler: Self.echo("n1"))
        let n2 = try Transport(node: "n2", endpoint: endpoints["n2"]!, peers: endpoints) { envelope in
            received.withLock { $0.append("\(envelope.kind) \(envelope.type) \(String(decoding: envelope.payload, as: UTF8.self))") }
            return .success([])
        }
        defer { n1.stop(); n2.stop() }
        _ = try await n1.request("n2", type: "hello", payload: [])   // connected both ways
        for i in 1...5 { n1.send("n2", type: "note", payload: Array("\(i)".utf8)) }
        for _ in 0..<100 where received.withLock({ $0.count }) < 6 { try await Task.sleep(for: .milliseconds(10)) }
        // Each message runs in its own task, so arrival order is not promised; every one arrives once.
        #expect(received.withLock { $0 }.sorted() == (["request hello "] + (1...5).map { "oneWay note \($0)" }).sorted())
    }
}
