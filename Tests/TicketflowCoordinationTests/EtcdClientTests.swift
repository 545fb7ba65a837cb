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
        // Long leases: a loaded machine can take seconds between calls, and expiry is not
        // what this test times (the end-to-end test stops etcd itself).
        let a = try await client.grantLease(ttl: 60), b = try await client.grantLease(ttl: 60)
        let first = try await client.putIfAbsent("/tf/partitions/7/leader", "n1", lease: a)
        #expect(first.created && first.holder?.value == "n1" && first.holder?.lease == a)
        // Taken: a second node reads who holds it and at which revision (the epoch).
        let second = try await client.putIfAbsent("/tf/partitions/7/leader", "n2", lease: b)
        #expect(!second.created && second.holder?.value == "n1" && second.holder?.createRevision == first.holder?.createRevision)
        _ = try await client.putIfAbsent("/tf/partitions/8/leader", "n2", lease: b)
        #expect(try await client.keys(prefix: "/tf/partitions/").map(\.key) == ["/tf/partitions/7/leader", "/tf/partitions/8/leader"])
        #expect(try await client.keepAlive(b) > 0)
        // a's holder goes (its lease revoked, as a dead holder's expires): the key is free, and
        // the next holder's epoch is higher.
        try await client.revoke(a)
        let taken = try await client.putIfAbsent("/tf/partitions/7/leader", "n2", lease: b)
        #expect(taken.created && taken.holder?.value == "n2")
        #expect((taken.holder?.createRevision ?? 0) > (first.holder?.createRevision ?? .max))
        try await client.revoke(b)
        #expect(try await client.keys(prefix: "/tf/").isEmpty)
    }

    @Test func anUnreachableEtcdIsAClearError() async throws {
        let client = EtcdClient(endpoints: ["http://127.0.0.1:9"])
        #expect(await client.isHealthy() == false)
        do { _ = try await client.grantLease(ttl: 5); Issue.record("a lease from nowhere") } catch {
            #expect("\(error)".hasPrefix("etcd /v3/lease/grant at http://127.0.0.1:9:"))
        }
    }
}
