import Foundation
import Testing
import TicketflowCoordination
import TicketflowTesting

/// The etcd client against a real etcd: leases, the take-if-free put whose revision is an
/// epoch, prefix ranges, keys vanishing with their lease, errors that name etcd.
@Suite(.serialized, .timeLimit(.minutes(1))) struct EtcdClientTests {
    @Test func leaderKeysAreTakenOnceAndVanishWithTheirLease() async throws {
        let etcd = try EtcdProcess()
        defer { etcd.stop() }
        let client = EtcdClient(endpoints: [etcd.endpoint])
        #expect(await client.isHealthy())
        let a = try await client.grantLease(ttl: 2), b = try await client.grantLease(ttl: 30)
        let first = try await client.putIfAbsent("/tf/partitions/7/leader", "n1", lease: a)
        #expect(first.created && first.holder?.value == "n1" && first.holder?.lease == a)
        // Taken: a second node reads who holds it and at which revision (the epoch).
        let second = try await client.putIfAbsent("/tf/partitions/7/leader", "n2", lease: b)
        #expect(!second.created && second.holder?.value == "n1" && second.holder?.createRevision == first.holder?.createRevision)
        _ = try await client.putIfAbsent("/tf/partitions/8/leader", "n2", lease: b)
        #expect(try await client.keys(prefix: "/tf/partitions/").map(\.key) == ["/tf/partitions/7/leader", "/tf/partitions/8/leader"])
        #expect(try await client.keepAlive(b) > 0)
        // a is not kept alive: after its TTL the key is free, and the next holder's epoch is higher.
        var taken = try await client.putIfAbsent("/tf/partitions/7/leader", "n2", lease: b)
        for _ in 0..<60 where !taken.created {
            try await Task.sleep(for: .milliseconds(100))
            taken = try await client.putIfAbsent("/tf/partitions/7/leader", "n2", lease: b)
        }
        #expect(taken.created && taken.holder?.value == "n2")
        #expect((taken.holder?.createRevision ?? 0) > (first.holder?.createRevision ?? .max))
        #expect(try await client.keepAlive(a) == 0)
        try await client.revoke(b)
        #expect(try await client.keys(prefix: "/tf/").isEmpty)
        try await client.shutdown()
    }

    @Test func anUnreachableEtcdIsAClearError() async throws {
        let client = EtcdClient(endpoints: ["http://127.0.0.1:9"])
        #expect(await client.isHealthy() == false)
        do { _ = try await client.grantLease(ttl: 5); Issue.record("a lease from nowhere") } catch {
            #expect("\(error)".hasPrefix("etcd /v3/lease/grant at http://127.0.0.1:9:"))
        }
        try await client.shutdown()
    }
}
