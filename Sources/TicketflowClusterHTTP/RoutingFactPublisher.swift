import TicketflowServer
import Foundation
import Logging
import Synchronization
import TicketflowCore

/// Carries a node's routing facts to the routing owner: the facts of committed changes are
/// offered as they come (the newest per ticket kept), and one loop sends them in pages,
/// retrying while the routing owner does not answer. A fact lost for good (the routing owner
/// restarted meanwhile) does no harm: the routing owner learns every node afresh after it
/// starts and whenever a node comes back.
final class RoutingFactPublisher: Sendable {
    private let waiting = Mutex<[String: RoutingFact]>([:])
    private let wakeUps: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init() {
        (wakeUps, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues facts to send; a newer fact of a ticket replaces an older one not yet sent.
    func offer(_ facts: [RoutingFact]) {
        guard !facts.isEmpty else { return }
        waiting.withLock { w in
            for fact in facts where (w[fact.ticket]?.version ?? -1) < fact.version { w[fact.ticket] = fact }
        }
        wake.yield()
    }

    /// Sends until cancelled.
    func run(send: @Sendable ([RoutingFact]) async throws -> Void, logger: Logger) async {
        var failing = false
        for await _ in wakeUps {
            while !Task.isCancelled {
                let page = waiting.withLock { w -> [RoutingFact] in
                    let keys = Array(w.keys.prefix(RoutingFacts.pageLimit))
                    return keys.compactMap { w.removeValue(forKey: $0) }
                }
                if page.isEmpty { break }
                do {
                    try await send(page)
                    if failing { logger.info("routing facts reach the routing owner again") }
                    failing = false
                } catch {
                    if !failing { logger.warning("routing facts wait for the routing owner: \(error)") }
                    failing = true
                    offer(page.filter { fact in waiting.withLock { ($0[fact.ticket]?.version ?? -1) < fact.version } })
                    // Cancelled: the publisher is stopping; the facts are sent again by the routing owner's next full read.
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            if Task.isCancelled { return }
        }
    }

    func finish() { wake.finish() }
}
