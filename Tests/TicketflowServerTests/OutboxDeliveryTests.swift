import Foundation
import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Testing
import TicketflowCore
import TicketflowRuntime
import TicketflowNode
import TicketflowStorage
import TicketflowTesting
import TicketflowWorkflow
@testable import TicketflowServer

/// A webhook receiver on a free loopback port that fails the first `failures` requests.
final class Receiver: @unchecked Sendable {
    // @unchecked Sendable: every field is read and written under `lock`.
    private let lock = NSLock()
    private var failuresLeft: Int
    private var seen: [(key: String, body: String)] = []
    private var boundPort = 0

    init(failures: Int) { failuresLeft = failures }

    var requests: [(key: String, body: String)] { lock.withLock { seen } }
    var port: Int { lock.withLock { boundPort } }

    func start() -> Task<Void, any Error> {
        let router = Router()
        router.post("hook") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 16)
            let key = request.headers[HTTPField.Name("Idempotency-Key")!] ?? ""
            let fail = self.lock.withLock { () -> Bool in
                self.seen.append((key, String(buffer: body)))
                if self.failuresLeft > 0 { self.failuresLeft -= 1; return true }
                return false
            }
            return Response(status: fail ? .internalServerError : .ok)
        }
        var logger = Logger(label: "receiver")
        logger.logLevel = .critical   // its shutdown on cancellation is expected
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in self.lock.withLock { self.boundPort = channel.localAddress?.port ?? 0 } },
                              logger: logger)
        return Task { try await app.run() }
    }
}

@Suite(.timeLimit(.minutes(1))) struct OutboxDeliveryTests {
    @Test func failedDeliveriesAreRetriedWithBackoffUntilTheyArrive() async throws {
        let receiver = Receiver(failures: 2)
        let server = receiver.start()
        defer { server.cancel() }
        for _ in 0..<500 where receiver.port == 0 { try await Task.sleep(for: .milliseconds(10)) }
        let port = receiver.port
        #expect(port != 0)

        let source = """
        workflow: hooks
        lines: [{name: L1, queue: q1}]
        delivery: {webhook: "http://127.0.0.1:\(port)/hook"}
        templates: {hello: "Hello {{ticket.requester.name}}"}
        triggers:
          - {name: greet, on: ticket.created, then: [{notify: {to: requester, template: hello}}]}
        """
        let workflow = try #require(WorkflowLoader.load(text: source).workflow)
        let dir = try TestSupport.temporaryDirectory("tf-outbox")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = VirtualClock(start: Instant(iso8601: "2027-01-04T09:00:00Z")!)
        let node = try DurableNode(store: try Store(path: dir + "/db.sqlite"), defaultWorkflow: (workflow, source, .file("test")), clock: clock)
        _ = try await node.start()
        _ = try await node.create(NewTicket(id: "", subject: "s", requester: Requester(name: "Ann", email: "ann@example.com")), idempotencyKey: nil)

        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let delivery = OutboxDelivery(node: node, clock: clock, logger: logger)
        let session = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = session.shutdown() }
        #expect(await delivery.deliverDue(client: session) == 1)       // fails: HTTP 500
        #expect(await delivery.deliverDue(client: session) == 0)       // backing off for 1 s
        clock.advance(by: .seconds(1))
        #expect(await delivery.deliverDue(client: session) == 1)       // fails again
        clock.advance(by: .seconds(1))
        #expect(await delivery.deliverDue(client: session) == 0)       // now 2 s of backoff
        clock.advance(by: .seconds(1))
        #expect(await delivery.deliverDue(client: session) == 1)       // delivered
        #expect(try await node.counts().outbox.pending == 0)
        #expect(await delivery.deliverDue(client: session) == 0)

        let requests = receiver.requests
        #expect(requests.count == 3)
        // Every attempt carries the same idempotency key: the notification's id.
        #expect(Set(requests.map(\.key)).count == 1)
        #expect(requests.first?.key.hasPrefix("1/") == true)
        #expect(requests.allSatisfy { $0.body.contains("Hello Ann") && $0.body.contains("\"ticket\":\"1\"") })
    }
}
