import Foundation
import TicketflowCluster

/// Remote actor calls (request/reply through `Transport`) beside raw libzmq in the same run:
/// a DEALER streaming to a ROUTER that echoes, with the same window of 64 messages in flight.
func benchZMQ(seconds: Double) async throws {
    let port1 = 29_000 + Int.random(in: 0..<500), port2 = port1 + 1
    let raw = try rawZMQRoundTrips(endpoint: "tcp://127.0.0.1:\(port1)", seconds: seconds, window: 64)

    let endpoints = ["a": "tcp://127.0.0.1:\(port2)", "b": "tcp://127.0.0.1:\(port2 + 1)"]
    let b = try Transport(node: "b", endpoint: endpoints["b"]!, peers: endpoints) { envelope in .success(envelope.payload) }
    let a = try Transport(node: "a", endpoint: endpoints["a"]!, peers: endpoints) { envelope in .success(envelope.payload) }
    defer { a.stop(); b.stop() }
    let payload = [UInt8](repeating: 7, count: 64)
    _ = try await a.request("b", type: "warmup", payload: payload)
    let start = ContinuousClock.now
    let deadline = start + .milliseconds(Int64(seconds * 1000))
    let counter = Counter()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<64 {
            group.addTask {
                while ContinuousClock.now < deadline {
                    _ = try await a.request("b", type: "ticket.get", payload: payload)
                    await counter.add()
                }
            }
        }
        try await group.waitForAll()
    }
    let remote = Double(await counter.value) / elapsedSeconds(since: start)

    // A local call: the same request answered by an actor in this process, no network, no serializer.
    let local = LocalEcho()
    let t0 = ContinuousClock.now
    var n = 0
    while elapsedSeconds(since: t0) < 1 { _ = await local.echo(payload); n += 1 }
    let localNs = elapsedSeconds(since: t0) * 1e9 / Double(n)

    report("remote actor calls/s (request/reply over ZeroMQ, 64 in flight, 64-byte payload)", format(remote),
           baseline: "raw libzmq DEALER↔ROUTER round trips: \(format(raw))/s", ratio: String(format: "%.0f %%", remote / raw * 100),
           note: "target ≥ 50 %")
    report("local actor call", String(format: "%.0f ns", localNs), note: "no network, no serializer")
}

actor LocalEcho { func echo(_ p: [UInt8]) -> [UInt8] { p } }

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
