import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import TicketflowAPI
import TicketflowCore
import TicketflowNode
import TicketflowRuntime
import TicketflowServer
import TicketflowTesting
import Testing

/// The very application `ticketflow serve` runs (`buildApplication`), on a temporary data
/// directory and a virtual clock, answering requests in process: no port, no process.
struct InProcessApp {
    static let start = Instant(iso8601: "2027-01-04T09:00:00Z")!
    /// The first admin's token of every in-process node.
    static let adminToken = "test-admin-token-0123456789"

    /// Runs `body` against a fresh node; the data directory is removed afterwards.
    static func run(workflow: String = TestNodes.workflow, configure: (inout ServerConfiguration) -> Void = { _ in },
                    _ body: @Sendable (Client) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-app-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try workflow.write(toFile: dir + "/workflow.yaml", atomically: true, encoding: .utf8)
        let clock = VirtualClock(start: start)
        var config = ServerConfiguration()
        config.dataDirectory = dir + "/data"
        config.workflowPath = dir + "/workflow.yaml"
        config.durability = .normal
        config.clock = clock
        config.adminToken = adminToken
        configure(&config)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let (app, node) = try await buildApplication(config, logger: logger)
        try await app.test(.router) { client in
            try await body(Client(http: client, node: node, clock: clock, routes: RouteTable.node(node), token: adminToken))
        }
    }

    struct Client: Sendable {
        let http: any TestClientProtocol
        let node: DurableNode
        let clock: VirtualClock
        let routes: RouteTable
        /// Sent as `Authorization: Bearer …` unless a request brings its own; nil: none.
        var token: String?

        /// The same client, acting with another token (nil: no identity at all).
        func with(token: String?) -> Client {
            var c = self
            c.token = token
            return c
        }

        struct Reply: Sendable {
            var status: HTTPResponse.Status
            var headers: HTTPFields
            var body: ByteBuffer
            var text: String { String(buffer: body) }
            func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(T.self, from: Data(body.readableBytesView)) }
            /// The error code of an error answer (nil when the body is not the error form).
            var errorCode: String? { try? decode(ErrorBody.self).error.code }
        }

        func send(_ method: HTTPRequest.Method, _ path: String, raw: String? = nil, headers: HTTPFields = [:]) async throws -> Reply {
            var fields = headers
            if raw != nil { fields[.contentType] = "application/json" }
            if fields[.authorization] == nil, let token { fields[.authorization] = "Bearer \(token)" }
            let r = try await http.execute(uri: path, method: method, headers: fields, body: raw.map { ByteBuffer(string: $0) })
            let reply = Reply(status: r.status, headers: r.headers, body: r.body)
            checkAgainstTheDocument(reply, method, path)
            return reply
        }

        /// Every JSON answer must be what docs/openapi.yaml says that operation answers with
        /// that status: the document is kept true by every request the tests make.
        func checkAgainstTheDocument(_ reply: Reply, _ method: HTTPRequest.Method, _ uri: String, sourceLocation: SourceLocation = #_sourceLocation) {
            guard reply.headers[.contentType] == "application/json" else { return }
            let doc = OpenAPIDocument.shared
            let path = String(uri.split(separator: "?", maxSplits: 1)[0])
            let schema: JSONValue?
            if let route = routes.route(method, path) {
                let pattern = "/" + route.shape.path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
                schema = doc.responseSchema(method: method.rawValue, path: pattern, status: reply.status.code)
                    ?? (doc.operations.contains("\(method.rawValue) \(pattern)") || reply.status.code < 400 ? nil : .object(["$ref": .string("#/components/schemas/Error")]))
                if schema == nil { Issue.record("\(method) \(pattern) → \(reply.status.code) is not in docs/openapi.yaml", sourceLocation: sourceLocation) }
            } else {
                schema = .object(["$ref": .string("#/components/schemas/Error")])
            }
            guard let schema else { return }
            do {
                let value = try JSONDecoder().decode(JSONValue.self, from: Data(reply.body.readableBytesView))
                let problems = doc.problems(value, schema)
                if !problems.isEmpty {
                    Issue.record("\(method) \(uri) → \(reply.status.code) breaks docs/openapi.yaml: \(problems.prefix(5).joined(separator: "; "))", sourceLocation: sourceLocation)
                }
            } catch {
                Issue.record("\(method) \(uri) answered JSON that does not parse: \(error)", sourceLocation: sourceLocation)
            }
        }

        func send(_ method: HTTPRequest.Method, _ path: String, _ body: some Encodable, headers: HTTPFields = [:]) async throws -> Reply {
            try await send(method, path, raw: String(decoding: JSONOutput.bytes(body), as: UTF8.self), headers: headers)
        }

        /// Creates a ticket and returns it, failing the test on anything but 201.
        func create(_ subject: String = "Printer down", priority: Priority? = nil, headers: HTTPFields = [:]) async throws -> TicketView {
            let reply = try await send(.post, "/api/v1/tickets",
                                       NewTicketRequest(subject: subject, priority: priority, requester: RequesterInput(name: "Ann", email: "ann@example.com")),
                                       headers: headers)
            guard reply.status == .created else { throw Unexpected(reply: reply.text, status: reply.status.code) }
            return try reply.decode(TicketView.self)
        }
    }

    struct Unexpected: Error, CustomStringConvertible {
        var reply: String
        var status: Int
        var description: String { "HTTP \(status): \(reply)" }
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
    static let agent = HTTPField.Name("X-Agent")!
}
