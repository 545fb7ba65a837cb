import Foundation
import AsyncHTTPClient
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
/// the log. A failing webhook never blocks ticket processing: the outbox is a table. Calls
/// go through async-http-client, the node's one client for outbound HTTP; redirects are not
/// followed, and each call has a 5 s deadline.
struct OutboxDelivery: Service {
    let node: DurableNode
    let clock: any TicketflowRuntime.Clock
    let logger: Logger
    var pollInterval: Duration = .milliseconds(200)
    /// Notifications attempted per pass (the outbox query's limit).
    static let passLimit = 100

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2), read: .seconds(5))))
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let delivered = await deliverDue(client: client)
                if delivered == 0 {
                    // A cancelled sleep is the service stopping; the loop condition ends it.
                    try? await Task.sleep(for: pollInterval)
                }
            }
        }
        try await client.shutdown()
    }

    /// One pass over due notifications; returns how many were attempted.
    func deliverDue(client: HTTPClient) async -> Int {
        let due: [OutboxItem]
        do { due = try await node.outboxDue(limit: Self.passLimit) } catch {
            logger.error("outbox cannot be read; delivery waits: \(error)")
            return 0
        }
        guard !due.isEmpty else { return 0 }
        let webhook = await node.workflow.webhook
        for item in due {
            guard let webhook else {
                logger.info("notification \(item.id) to \(item.recipient) [\(item.template)]: \(item.body)")
                await record { try await node.markDelivered(item.id) }
                continue
            }
            var request = HTTPClientRequest(url: webhook)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Idempotency-Key", value: item.id)
            request.body = .bytes(JSONOutput.bytes(WebhookPayload(id: item.id, ticket: item.ticket, recipient: item.recipient,
                                                                  template: item.template, body: item.body)))
            do {
                try await WebhookGuard(allowed: node.allowedWebhookHosts).check(webhook)
                let response = try await client.execute(request, timeout: .seconds(5))
                // The body is not used; reading a bounded part of it lets the connection be reused.
                _ = try await response.body.collect(upTo: 64 << 10)
                guard (200..<300).contains(response.status.code) else { throw DeliveryError(status: Int(response.status.code)) }
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
