import Distributed
import Foundation
import Synchronization
import TicketflowCluster

/// Remote distributed actor calls (and the bare transport under them) beside raw libzmq in
/// the same run: a DEALER streaming to a ROUTER that echoes, with the same window of 64
/// messages in flight; and the cost of a local distributed actor call.
func benchZMQ(seconds: Double) async throws {
    let port1 = 29_000 + Int.random(in: 0..<500), port2 = port1 + 1
    let raw = try rawZMQRoundTrips(endpoint: "tcp://127.0.0.1:\(port1)", seconds: seconds, window: 64)

    let endpoints = ["a": "tcp://127.0.0.1:\(port2)", "b": "tcp://127.0.0.1:\(port2 + 1)"]
    let b = try ClusterActorSystem(node: "b", endpoint: endpoints["b"]!, peers: endpoints) { .success($0.payload) }
    let a = try ClusterActorSystem(node: "a", endpoint: endpoints["a"]!, peers: endpoints)
    defer { a.stop(); b.stop() }
    let payload = [UInt8](repeating: 7, count: 64)
    let onB = b.withName("echo") { Echo(actorSystem: b) }
    let remoteEcho = try Echo.resolve(id: onB.id, using: a)
    _ = try await remoteEcho.echo(payload)

    // The transport alone (request/reply, no actor machinery), then distributed actor calls.
    let transport = try await callsPerSecond(seconds: seconds) { _ = try await a.transport.request("b", type: "ping", payload: payload) }
    let remote = try await callsPerSecond(seconds: seconds) { _ = try await remoteEcho.echo(payload) }

    // A local call: the same distributed actor resolved on its own node — no network, no serializer.
    let localEcho = try Echo.resolve(id: onB.id, using: b)
    let t0 = ContinuousClock.now
    var n = 0
    while elapsedSeconds(since: t0) < 1 { _ = try await localEcho.echo(payload); n += 1 }
    let localNs = elapsedSeconds(since: t0) * 1e9 / Double(n)

    // The same calls over CurveZMQ links, as clusters run them (encryption and the ZAP allow-list).
    let keys = ["a": try CurveKeyPair.generate(), "b": try CurveKeyPair.generate()]
    let publicKeys = keys.mapValues(\.publicKey)
    let secureEndpoints = ["a": "tcp://127.0.0.1:\(port2 + 2)", "b": "tcp://127.0.0.1:\(port2 + 3)"]
    let sb = try ClusterActorSystem(node: "b", endpoint: secureEndpoints["b"]!, peers: secureEndpoints, security: .curve(own: keys["b"]!, peers: publicKeys)) { .success($0.payload) }
    let sa = try ClusterActorSystem(node: "a", endpoint: secureEndpoints["a"]!, peers: secureEndpoints, security: .curve(own: keys["a"]!, peers: publicKeys))
    defer { sa.stop(); sb.stop() }
    let secureEcho = try Echo.resolve(id: sb.withName("echo") { Echo(actorSystem: sb) }.id, using: sa)
    _ = try await secureEcho.echo(payload)
    let secure = try await callsPerSecond(seconds: seconds) { _ = try await secureEcho.echo(payload) }

    let rawNote = "raw libzmq DEALER↔ROUTER round trips: \(format(raw))/s"
    report("transport request/reply/s (64 in flight, 64-byte payload)", format(transport),
           baseline: rawNote, ratio: String(format: "%.0f %%", transport / raw * 100))
    report("remote distributed actor calls/s (64 in flight, 64-byte argument)", format(remote),
           baseline: rawNote, ratio: String(format: "%.0f %%", remote / raw * 100), note: "target ≥ 50 %")
    report("remote distributed actor calls/s over CurveZMQ (as clusters run)", format(secure),
           baseline: rawNote, ratio: String(format: "%.0f %%", secure / raw * 100), note: String(format: "%.0f %% of the same calls in plain text", secure / remote * 100))
    report("local distributed actor call", String(format: "%.0f ns", localNs), note: "same actor, resolved on its own node: no network, no serializer")
}

/// Runs `call` from 64 concurrent tasks for `seconds`; returns calls per second. The tasks
/// read a flag, not the clock, between calls (a clock read per call showed in the profile).
func callsPerSecond(seconds: Double, _ call: @escaping @Sendable () async throws -> Void) async throws -> Double {
    let start = ContinuousClock.now
    let counter = Counter()
    let stop = StopFlag()
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            stop.raise()
        }
        for _ in 0..<64 {
            group.addTask {
                while !stop.isRaised {
                    try await call()
                    counter.add()
                }
            }
        }
        try await group.waitForAll()
    }
    return Double(counter.value) / elapsedSeconds(since: start)
}

/// Tells load tasks to stop.
final class StopFlag: Sendable {
    private let raised = Atomic<Bool>(false)
    func raise() { raised.store(true, ordering: .relaxed) }
    var isRaised: Bool { raised.load(ordering: .relaxed) }
}

/// The distributed actor the benchmark calls.
distributed actor Echo {
    typealias ActorSystem = ClusterActorSystem
    distributed func echo(_ payload: [UInt8]) -> [UInt8] { payload }
}

/// Raw libzmq: one thread keeps `window` messages in flight from a DEALER; the ROUTER echoes.
func rawZMQRoundTrips(endpoint: String, seconds: Double, window: Int) throws -> Double {
    let context = ZMQContext()
    let router = try ZMQSocket(context, .router)
    try router.bind(endpoint)
    let dealer = try ZMQSocket(context, .dealer)
    try dealer.setRoutingID("a")
    try dealer.connect(endpoint)
    let payload = [UInt8](repeating: 7, count: 64)
    var inFlight = 0, done = 0
    let start = ContinuousClock.now
    while elapsedSeconds(since: start) < seconds {
        while inFlight < window, try dealer.send([payload]) { inFlight += 1 }
        for index in try zmqPoll([router, dealer], timeoutMillis: 1) {
            if index == 0 { while let frames = try router.receive() { _ = try router.send(frames) } }
            else { while try dealer.receive() != nil { inFlight -= 1; done += 1 } }
        }
    }
    return Double(done) / elapsedSeconds(since: start)
}
