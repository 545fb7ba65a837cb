import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TicketflowCluster
import TicketflowCoordination

/// Keeps this node's membership in etcd: a lease of `ttl` seconds, renewed every second, and
/// the key `<prefix>members/<node>` (its HTTP and ZeroMQ addresses) attached to it, so the key
/// vanishes within the TTL of this node dying or losing etcd. `/readyz` answers ready only
/// while the lease is kept. On shutdown the lease is revoked: the key goes at once.
final class EtcdMembership: Service, Sendable {
    let client: EtcdClient
    let key: String
    let value: String
    let logger: Logger
    static let ttl = 5
    static let renewal: Duration = .seconds(1)
    /// Monotonic instant (ns) until which the lease is known to live; 0 before the first grant.
    private let keptUntil = Atomic<UInt64>(0)
    private let lease = Mutex<Int64?>(nil)

    init(config: ClusterConfig, me: String, endpoints: [String], logger: Logger) {
        client = EtcdClient(endpoints: endpoints)
        key = config.etcdPrefix + "members/" + me
        let node = config.node(me)
        value = "\(node?.http ?? "") \(node?.zmq ?? "")"
        self.logger = logger
    }

    /// Whether the lease is alive as far as this node knows (renewed within its TTL).
    var isKept: Bool { DispatchTime.now().uptimeNanoseconds < keptUntil.load(ordering: .relaxed) }

    /// How long before the lease can expire at etcd a leader stops acknowledging and firing
    /// timers: one renewal interval (the renewal that would have extended it) plus 500 ms for
    /// clocks running at different rates. With a 5 s TTL a leader that stops hearing from
    /// etcd stops within 3.5 s of its last renewal, and its keys vanish at 5 s at the soonest.
    static let trustMargin: UInt64 = 1_500_000_000

    /// Whether this node may still act on keys held under its lease (docs/replication.md).
    var isTrusted: Bool {
        DispatchTime.now().uptimeNanoseconds + Self.trustMargin < keptUntil.load(ordering: .relaxed)
    }

    /// The lease keys are held under, nil while there is none.
    var currentLease: Int64? { lease.withLock { $0 } }

    /// One round of keeping the membership, from a caller that needs the lease before the
    /// node's services run (a replicated node at start).
    func keepOnce() async throws { try await keep() }

    func run() async throws {
        // The loop ends when the node shuts down gracefully (the task is cancelled then).
        await cancelWhenGracefulShutdown { [self] in
            var complainedAt: ContinuousClock.Instant?
            while !Task.isCancelled {
                do {
                    try await keep()
                    complainedAt = nil
                } catch {
                    // etcd unreachable or the lease gone: not ready; say so once a minute, try again.
                    if complainedAt.map({ ContinuousClock.now - $0 > .seconds(60) }) ?? true {
                        logger.warning("etcd membership: \(error); not ready until etcd answers")
                        complainedAt = .now
                    }
                    // Only a lease etcd says is gone is given up: while etcd is merely unreachable
                    // the same lease may still live, and keys held under it with it.
                    if error is Expired { lease.withLock { $0 = nil } }
                }
                try? await Task.sleep(for: Self.renewal)   // cancelled at shutdown: the loop ends
            }
        }
        // Leaving: the key goes now rather than at the end of its TTL (best effort).
        if let id = lease.withLock({ $0 }) { try? await client.revoke(id) }   // unreachable etcd: the TTL removes it
    }

    struct Expired: Error, CustomStringConvertible {
        var lease: Int64
        var description: String { "lease \(lease) expired" }
    }

    /// One round: a lease (granted if there is none), the key written under it, renewed.
    private func keep() async throws {
        let started = DispatchTime.now().uptimeNanoseconds
        var id = lease.withLock { $0 }
        if id == nil {
            let granted = try await client.grantLease(ttl: Self.ttl)
            try await client.put(key, value, lease: granted)
            lease.withLock { $0 = granted }
            id = granted
            logger.info("etcd membership: \(key) under lease \(granted) (TTL \(Self.ttl) s)")
        }
        let remaining = try await client.keepAlive(id!)
        guard remaining > 0 else { throw Expired(lease: id!) }
        // Counted from before the call: the lease cannot outlive this by more than etcd says.
        keptUntil.store(started + UInt64(remaining) * 1_000_000_000, ordering: .relaxed)
    }
}
