import Foundation
import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import Logging
import Synchronization
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

    /// The port once the receiver listens (at most 5 s after `start`), 0 if it never does.
    func listening() async throws -> Int {
        for _ in 0..<500 where port == 0 { try await Task.sleep(for: .milliseconds(10)) }
        return port
    }

    /// A workflow that greets each new ticket's requester through this receiver.
    static func greetingWorkflow(port: Int) -> String {
        """
        workflow: hooks
        lines: [{name: L1, queue: q1}]
        delivery: {webhook: "http://127.0.0.1:\(port)/hook"}
        templates: {hello: "Hello {{ticket.requester.name}}"}
        triggers:
          - {name: greet, on: ticket.created, then: [{notify: {to: requester, template: hello}}]}
        """
    }
}

@Suite(.timeLimit(.minutes(1))) struct OutboxDeliveryTests {
    @Test func failedDeliveriesAreRetriedWithBackoffUntilTheyArrive() async throws {
        let receiver = Receiver(failures: 2)
        let server = receiver.start()
        defer { server.cancel() }
        let port = try await receiver.listening()
        #expect(port != 0)
        let source = Receiver.greetingWorkflow(port: port)
        // A loopback webhook is refused unless the node's configuration admits it.
        #expect(WorkflowLoader.load(text: source).errors.map(\.rule) == ["webhook-internal"])
        let workflow = try #require(WorkflowLoader.load(text: source, allowedWebhookHosts: ["127.0.0.1"]).workflow)
        let dir = try TestSupport.temporaryDirectory("tf-outbox")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = VirtualClock(start: Instant(iso8601: "2027-01-04T09:00:00Z")!)
        let node = try DurableNode(store: try Store(path: dir + "/db.sqlite"), defaultWorkflow: (workflow, source, .file("test")), clock: clock,
                                    allowedWebhookHosts: ["127.0.0.1"])
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

/// A partition's replication as the node sees it, reduced to one follower in the same process:
/// every batch goes, in its wire form, into a second store at once (what a follower writes), and
/// writes can be refused as a partition without a majority in sync refuses them.
final class ApplyingReplicator: BatchReplicator {
    let follower: Store
    private let state = Mutex<(index: UInt64, refusal: String?)>((0, nil))
    init(follower: Store) { self.follower = follower }

    func refuse(_ reason: String?) { state.withLock { $0.refusal = reason } }
    func refusal() -> String? { state.withLock { $0.refusal } }
    func propose(_ batch: CommitBatch) throws -> LogMark {
        try follower.commitWaiting(try CommitBatch(wireBytes: batch.wireBytes()))
        return state.withLock { s in s.index += 1; return LogMark(index: s.index, epoch: 1) }
    }
    func acknowledged(_ mark: LogMark) async throws {}
    func localWriteFailed(_ reason: String) {}
}

@Suite(.timeLimit(.minutes(1))) struct ReplicatedOutboxTests {
    /// A delivery's outcome is written in the journal's batch, so it reaches the replicas: a
    /// replica that takes the partition over has nothing left to send. While the partition
    /// takes no writes, nothing is sent (it could not be recorded, and would go again).
    @Test func deliveriesAreRecordedOnTheReplicasAndNotSentAgainAfterATakeover() async throws {
        let receiver = Receiver(failures: 1)
        let server = receiver.start()
        defer { server.cancel() }
        let port = try await receiver.listening()
        #expect(port != 0)
        let source = Receiver.greetingWorkflow(port: port)
        let workflow = try #require(WorkflowLoader.load(text: source, allowedWebhookHosts: ["127.0.0.1"]).workflow)
        let dir = try TestSupport.temporaryDirectory("tf-outbox-replicated")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = VirtualClock(start: Instant(iso8601: "2027-01-04T09:00:00Z")!)
        let leaderStore = try Store(path: dir + "/leader.sqlite")
        let replicator = ApplyingReplicator(follower: try Store(path: dir + "/follower.sqlite"))
        let node = try DurableNode(store: leaderStore, defaultWorkflow: (workflow, source, .file("test")), clock: clock,
                                   allowedWebhookHosts: ["127.0.0.1"], replicator: replicator)
        _ = try await node.start()
        for name in ["Ann", "Bob", "Cy"] {
            _ = try await node.create(NewTicket(id: "", subject: "s", requester: Requester(name: name, email: "\(name)@example.com")), idempotencyKey: nil)
        }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let delivery = OutboxDelivery(node: node, clock: clock, logger: logger)
        let session = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = session.shutdown() }

        // No writes taken: nothing is sent.
        replicator.refuse("1 of 3 replicas in sync, 2 needed")
        #expect(await delivery.deliverDue(client: session) == 0)
        #expect(receiver.requests.isEmpty)
        replicator.refuse(nil)

        #expect(await delivery.deliverDue(client: session) == 3)   // the first fails (HTTP 500), two arrive
        let failed = try replicator.follower.stateDigest()
        #expect(Self.sameState(failed, try leaderStore.stateDigest()))
        #expect(failed.notifications == 3 && failed.delivered == 2)
        clock.advance(by: .seconds(1))
        #expect(await delivery.deliverDue(client: session) == 1)   // the retry arrives
        let digest = try replicator.follower.stateDigest()
        #expect(Self.sameState(digest, try leaderStore.stateDigest()), "the follower holds the leader's outbox, delivery marks included")
        #expect(digest.notifications == 3 && digest.delivered == 3)
        #expect(receiver.requests.count == 4)

        // The follower's replica taken over: nothing is due there.
        let standIn = try DurableNode(store: replicator.follower, defaultWorkflow: (workflow, source, .file("test")), clock: clock,
                                      allowedWebhookHosts: ["127.0.0.1"])
        _ = try await standIn.start()
        clock.advance(by: .minutes(30))
        #expect(try await standIn.outboxDue(limit: 100).isEmpty)
        #expect(await OutboxDelivery(node: standIn, clock: clock, logger: logger).deliverDue(client: session) == 0)
        #expect(receiver.requests.count == 4)
    }

    /// Equal but for the log position (this follower keeps none).
    static func sameState(_ a: StateDigest, _ b: StateDigest) -> Bool {
        var b = b
        b.position = a.position
        return a == b
    }
}

/// Webhooks cannot reach inside: the address rules, the workflow check and the check at delivery.
@Suite struct WebhookGuardTests {
    /// Spellings of loopback, private, link-local, shared, multicast, reserved and unspecified
    /// addresses, and names that always mean this machine.
    static let inside = [
        "127.0.0.1", "127.1", "127.0.1", "0x7f.1", "0x7f000001", "2130706433", "017700000001", "0177.0.0.1", "0x7F.0.0.0x1",
        "127.255.255.254", "localhost", "LOCALHOST.", "api.localhost", "localhost.localdomain", "0.0.0.0", "0", "0x0",
        "10.0.0.1", "10.255.255.255", "012.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "3232235777", "0xc0a80101",
        "169.254.169.254", "100.64.0.1", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "198.18.0.1",
        "[::1]", "::1", "[::]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::ffff:10.0.0.1]", "[::127.0.0.1]",
        "[64:ff9b::127.0.0.1]", "[2002:7f00:1::]", "[fe80::1]", "[fe80::1%25eth0]", "[fc00::1]", "[fd12:3456::1]", "[ff02::1]",
        "[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]",
    ]
    static let outside = ["93.184.216.34", "hooks.example.com", "8.8.8.8", "[2606:4700:4700::1111]", "172.32.0.1", "100.128.0.1",
                          "11.0.0.1", "[::ffff:8.8.8.8]", "1.1.1.1"]

    @Test func everySpellingOfAnInsideAddressIsRefused() {
        #expect(Self.inside.count == 49)
        for host in Self.inside { #expect(InternalAddress.isInternal(host: host.removingPercentEncoding ?? host), "\(host) passed") }
        for host in Self.outside { #expect(!InternalAddress.isInternal(host: host), "\(host) refused") }
    }

    @Test func theWorkflowCheckRefusesThemUnlessAdmitted() {
        func source(_ host: String) -> String {
            "workflow: w\nlines: [{name: L1, queue: q1}]\ndelivery: {webhook: \"http://\(host):8080/hook\"}\n"
        }
        var refused = 0
        // As a URL writes them: IPv6 in brackets (a bare ::1 is not a URL host).
        for host in Self.inside where !host.contains("%") && (host.hasPrefix("[") || !host.contains(":")) {
            let outcome = WorkflowLoader.load(text: source(host))
            #expect(outcome.errors.map(\.rule) == ["webhook-internal"], "\(host): \(outcome.diagnostics)")
            refused += outcome.workflow == nil ? 1 : 0
        }
        #expect(refused >= 30)
        #expect(WorkflowLoader.load(text: source("hooks.example.com")).workflow != nil)
        #expect(WorkflowLoader.load(text: source("10.0.0.7"), allowedWebhookHosts: ["10.0.0.7"]).workflow != nil)
        #expect(WorkflowLoader.load(text: source("[::1]"), allowedWebhookHosts: ["::1"]).workflow != nil)
    }

    @Test func aNameThatResolvesInsideIsRefusedAtDelivery() async throws {
        // This machine's own name resolves to one of its addresses: loopback or private.
        let name = ProcessInfo.processInfo.hostName
        let addresses = try await WebhookGuard.resolve(name)
        try #require(!addresses.isEmpty && addresses.allSatisfy { InternalAddress.isInternal(host: $0) }, "\(name) → \(addresses)")
        #expect(!InternalAddress.isInternal(host: name) || name == "localhost")
        await #expect(throws: WebhookGuard.Refused.self) { try await WebhookGuard(allowed: []).check("http://\(name):9/hook") }
        try await WebhookGuard(allowed: [name.lowercased()]).check("http://\(name):9/hook")
        await #expect(throws: WebhookGuard.Refused.self) { try await WebhookGuard(allowed: []).check("http://0x7f.1:9/hook") }
    }
}
