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
                    lease.withLock { $0 = nil }
                }
                try? await Task.sleep(for: Self.renewal)   // cancelled at shutdown: the loop ends
            }
        }
        // Leaving: the key goes now rather than at the end of its TTL (best effort).
        if let id = lease.withLock({ $0 }) { try? await client.revoke(id) }   // unreachable etcd: the TTL removes it
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
        guard remaining > 0 else { throw EtcdClient.Failure(description: "lease \(id!) expired") }
        // Counted from before the call: the lease cannot outlive this by more than etcd says.
        keptUntil.store(started + UInt64(remaining) * 1_000_000_000, ordering: .relaxed)
    }
}
