import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ServiceLifecycle
import TicketflowAPI
import TicketflowCore
import TicketflowRuntime
import TicketflowNode
import TicketflowStorage

/// Runs the node's timer loop for as long as the service group runs. The loop is a child
/// task, so it ends on graceful shutdown and also when the group is cancelled because
/// another service failed (the HTTP server finding its port taken, say) — as an
/// unstructured task it kept such a node alive, neither serving nor exiting.
struct TimerService: Service {
    let node: DurableNode

    func run() async throws {
        await cancelWhenGracefulShutdown { await node.runTimers() }
        try await node.flush()
    }
}

/// Delivers outbox notifications: to the workflow's webhook (HTTP POST, at least once,
/// with the notification id as `Idempotency-Key`, retried with exponential backoff), or to
/// the log. A failing webhook never blocks ticket processing: the outbox is a table.
struct OutboxDelivery: Service {
    let node: DurableNode
    let clock: any TicketflowRuntime.Clock
    let logger: Logger
    var pollInterval: Duration = .milliseconds(200)

    func run() async throws {
        let session = URLSession(configuration: .ephemeral)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let delivered = await deliverDue(session: session)
                if delivered == 0 { try? await Task.sleep(for: pollInterval) }
            }
        }
    }

    /// One pass over due notifications; returns how many were attempted.
    func deliverDue(session: URLSession) async -> Int {
        let due: [OutboxItem]
        do { due = try await node.outboxDue(limit: 100) } catch {
            logger.error("outbox cannot be read; delivery waits: \(error)")
            return 0
        }
        guard !due.isEmpty else { return 0 }
        let webhook = await node.workflow.webhook
        for item in due {
            guard let webhook, let url = URL(string: webhook) else {
                logger.info("notification \(item.id) to \(item.recipient) [\(item.template)]: \(item.body)")
                await record { try await node.markDelivered(item.id) }
                continue
            }
            var request = URLRequest(url: url, timeoutInterval: 5)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue(item.id, forHTTPHeaderField: "Idempotency-Key")
            request.httpBody = JSONOutput.data(WebhookPayload(id: item.id, ticket: item.ticket, recipient: item.recipient,
                                                              template: item.template, body: item.body))
            do {
                let (_, response) = try await session.data(for: request)
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                guard (200..<300).contains(status) else { throw DeliveryError(status: status) }
                await record { try await node.markDelivered(item.id) }
            } catch {
                // 1 s, 2 s, 4 s … capped at 10 minutes.
                let backoff = TimeSpan.seconds(Int64(min(600, 1 << min(item.attempts, 10))))
                logger.warning("delivery of \(item.id) failed (attempt \(item.attempts + 1)): \(error); retrying in \(backoff)")
                await record { try await node.markFailed(item.id, error: "\(error)", retryAt: clock.now() + backoff) }
            }
        }
        return due.count
    }

    /// Records a delivery's outcome. Failing to record it is logged, not fatal: the item stays
    /// due and is delivered again (at least once, with the same `Idempotency-Key`).
    func record(_ write: () async throws -> Void) async {
        do { try await write() } catch { logger.error("outbox state not recorded; the notification will be sent again: \(error)") }
    }

    struct DeliveryError: Error, CustomStringConvertible {
        let status: Int
        var description: String { "webhook answered HTTP \(status)" }
    }
}
