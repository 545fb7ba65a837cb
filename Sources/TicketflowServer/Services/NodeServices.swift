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

    /// One pass over due notifications; returns how many were attempted and recorded (0: the
    /// loop pauses before the next pass).
    func deliverDue(client: HTTPClient) async -> Int {
        let due: [OutboxItem]
        do { due = try await node.outboxDue(limit: Self.passLimit) } catch {
            logger.error("outbox cannot be read; delivery waits: \(error)")
            return 0
        }
        guard !due.isEmpty else { return 0 }
        // What is delivered must be recorded, or it is sent again at the next pass: while the
        // node takes no writes (a partition without a majority in sync, say), nothing is sent.
        if let refusal = await node.writeRefusal() {
            logger.debug("outbox waits: \(refusal)")
            return 0
        }
        let webhook = await node.workflow.webhook
        // Outcomes are recorded a few at a time, in the journal (replicated with it), and all of
        // them before the next pass reads what is due.
        var marks: [OutboxMark] = []
        for item in due {
            if marks.count >= Self.recordEvery, !(await record(&marks)) { return 0 }
            guard let webhook else {
                logger.info("notification \(item.id) to \(item.recipient) [\(item.template)]: \(item.body)")
                marks.append(.delivered(id: item.id, at: clock.now()))
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
                marks.append(.delivered(id: item.id, at: clock.now()))
            } catch {
                // 1 s, 2 s, 4 s … capped at 10 minutes.
                let backoff = TimeSpan.seconds(Int64(min(600, 1 << min(item.attempts, 10))))
                logger.warning("delivery of \(item.id) failed (attempt \(item.attempts + 1)): \(error); retrying in \(backoff)")
                marks.append(.failed(id: item.id, error: "\(error)", retryAt: clock.now() + backoff))
            }
        }
        return await record(&marks) ? due.count : 0
    }

    /// Delivery outcomes recorded per journal batch, at most: a crash loses at most these
    /// (their notifications are sent again, with the same `Idempotency-Key`).
    static let recordEvery = 16

    /// Records delivery outcomes and empties `marks`. Failing to record them is logged, not
    /// fatal: the items stay due and are delivered again (at least once, same `Idempotency-Key`).
    /// Whether they were recorded; when not, the pass ends (the loop pauses before the next).
    func record(_ marks: inout [OutboxMark]) async -> Bool {
        defer { marks = [] }
        do { try await node.recordOutbox(marks) } catch {
            logger.error("the outcome of \(marks.count) deliveries was not recorded; they will be sent again: \(error)")
            return false
        }
        return true
    }

    struct DeliveryError: Error, CustomStringConvertible {
        let status: Int
        var description: String { "webhook answered HTTP \(status)" }
    }
}
