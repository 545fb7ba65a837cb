import Distributed
import Foundation
import Testing
@testable import TicketflowCluster

/// A distributed actor for the tests: counts what it was told, fails when asked to.
distributed actor Counter {
    typealias ActorSystem = ClusterActorSystem
    private var total = 0

    distributed func add(_ n: Int, note: String) throws -> String {
        if note == "fail" { throw ClusterCallError("refused \(n)") }
        total += n
        return "\(note): \(total) on \(id.node)"
    }

    distributed func bytes() -> [UInt8] { Array("x".utf8) }
}

/// Two actor systems over ZeroMQ on loopback, in one process.
@Suite(.serialized, .timeLimit(.minutes(1))) struct ClusterActorSystemTests {
    func systems() throws -> (a: ClusterActorSystem, b: ClusterActorSystem) {
        let endpoints = ["a": "tcp://127.0.0.1:\(TransportTests.freePort())", "b": "tcp://127.0.0.1:\(TransportTests.freePort())"]
        // 10 s: a call on a machine busy compiling can take seconds; a failing call waits this long.
        let systems = (a: try ClusterActorSystem(node: "a", endpoint: endpoints["a"]!, peers: endpoints, callTimeout: .seconds(10)),
                       b: try ClusterActorSystem(node: "b", endpoint: endpoints["b"]!, peers: endpoints, callTimeout: .seconds(10)))
        return systems
    }

    /// Waits (at most 10 s) until each system has heard the other's heartbeat, as a node
    /// does before it forwards anything.
    func connected(_ a: ClusterActorSystem, _ b: ClusterActorSystem) async throws {
        for _ in 0..<1000 {
            if a.transport.liveness["b"].flatMap({ $0 }) != nil && b.transport.liveness["a"].flatMap({ $0 }) != nil { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the two systems never heard each other")
    }

    @Test func remoteCallsTravelAndLocalOnesDoNot() async throws {
        let (a, b) = try systems()
        defer { a.stop(); b.stop() }
        try await connected(a, b)
        let onB = b.withName("counter") { Counter(actorSystem: b) }
        #expect(onB.id == ClusterActorID(node: "b", name: "counter"))

        // From a, the same id resolves to a remote reference; calls go over ZeroMQ.
        let remote = try Counter.resolve(id: onB.id, using: a)
        #expect(try await remote.add(2, note: "first") == "first: 2 on b")
        #expect(try await remote.add(3, note: "second") == "second: 5 on b")
        #expect(try await remote.bytes() == Array("x".utf8))
        await #expect(throws: ClusterCallError.self) { try await remote.add(1, note: "fail") }

        // On b, it resolves to the actor itself: with the transport stopped, calls still work.
        let local = try Counter.resolve(id: onB.id, using: b)
        b.transport.stop()
        #expect(try await local.add(1, note: "local") == "local: 6 on b")
        // … while a remote call to b now fails within its timeout instead of hanging.
        await #expect(throws: ClusterCallError.self) { try await remote.add(1, note: "late") }
    }

    @Test func unknownActorsAreErrorsNotCrashes() async throws {
        let (a, b) = try systems()
        defer { a.stop(); b.stop() }
        try await connected(a, b)
        let ghost = try Counter.resolve(id: ClusterActorID(node: "b", name: "nobody"), using: a)
        await #expect(throws: ClusterCallError.self) { try await ghost.add(1, note: "hello") }
        #expect(throws: ClusterCallError.self) { try Counter.resolve(id: ClusterActorID(node: "a", name: "nobody"), using: a) }
    }
}
