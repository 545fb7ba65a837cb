import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// etcd's v3 API through its JSON gateway (`/v3/…`), with async-http-client: leases, a
/// put that succeeds only if the key is free, ranges, health (docs/replication.md says why
/// the gateway rather than gRPC). Keys and values travel base64-encoded, 64-bit numbers as
/// strings; the types below read and write both.
public final class EtcdClient: Sendable {
    public let endpoints: [String]
    private let http: HTTPClient
    /// Each call's limit: etcd answers in milliseconds or is unreachable.
    public static let timeout: TimeAmount = .seconds(5)
    /// Largest answer read (a range over many keys stays far below it).
    static let maxResponseBytes = 4 << 20

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Uses async-http-client's shared client: nothing to shut down, so a client dropped on
    /// an error path (or by a node that failed to start) cannot trap in its deinit. Every call
    /// has its own deadline (`timeout`).
    public init(endpoints: [String]) {
        precondition(!endpoints.isEmpty, "at least one etcd endpoint")
        self.endpoints = endpoints.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        http = HTTPClient.shared
    }

    // MARK: The calls

    /// A lease of `ttl` seconds: keys attached to it vanish when it is not kept alive.
    public func grantLease(ttl: Int) async throws -> Int64 {
        let reply: LeaseGrantResponse = try await post("/v3/lease/grant", LeaseGrantRequest(TTL: String(ttl)))
        guard let id = reply.ID.flatMap({ Int64($0) }), id != 0 else { throw Failure(description: "etcd granted no lease: \(reply.error ?? "no id")") }
        return id
    }

    /// Renews the lease; its remaining time to live in seconds (0: it had expired).
    public func keepAlive(_ lease: Int64) async throws -> Int {
        let reply: KeepAliveEnvelope = try await post("/v3/lease/keepalive", LeaseIDRequest(ID: String(lease)))
        return reply.result?.TTL.flatMap { Int($0) } ?? 0
    }

    public func revoke(_ lease: Int64) async throws {
        let _: Header = try await post("/v3/lease/revoke", LeaseIDRequest(ID: String(lease)))
    }

    /// Puts `value` at `key`, attached to `lease`, only if the key does not exist; otherwise
    /// reads it. The key's create revision is what the holder can use as an epoch: etcd's
    /// revisions only grow.
    public func putIfAbsent(_ key: String, _ value: String, lease: Int64) async throws -> (created: Bool, holder: KeyValue?) {
        let k = Self.base64(key)
        // Either way the transaction ends with a read of the key: one round trip says who holds it.
        let read = TxnRequest.Op(request_put: nil, request_range: .init(key: k, range_end: nil))
        let request = TxnRequest(compare: [.init(key: k, target: "CREATE", create_revision: "0")],
                                 success: [.init(request_put: .init(key: k, value: Self.base64(value), lease: String(lease)), request_range: nil), read],
                                 failure: [read])
        let reply: TxnResponse = try await post("/v3/kv/txn", request)
        let holder = reply.responses?.last?.response_range?.kvs?.first.map(KeyValue.init)
        return (reply.succeeded ?? false, holder)
    }

    /// Deletes `key` only while it is the one created at `createRevision` (a leader giving up
    /// its own key, never a successor's); whether it did.
    @discardableResult
    public func delete(_ key: String, ifCreatedAt createRevision: Int64) async throws -> Bool {
        let k = Self.base64(key)
        let request = TxnRequest(compare: [.init(key: k, target: "CREATE", create_revision: String(createRevision))],
                                 success: [.init(request_put: nil, request_range: nil, request_delete_range: .init(key: k, range_end: nil))],
                                 failure: [])
        let reply: TxnResponse = try await post("/v3/kv/txn", request)
        return reply.succeeded ?? false
    }

    /// A condition of `put(_:_:lease:if:)`: a key created at a revision (0: absent), or last
    /// changed at one.
    public enum Condition: Sendable {
        case created(String, at: Int64)
        case modified(String, at: Int64)
    }

    /// Puts `value` at `key` (and deletes `deleting`, if given) only while every condition
    /// holds, in one transaction; whether it did. A leader records a change of its partition's
    /// replicas this way: only while it still holds its key, and only over the set it read.
    @discardableResult
    public func put(_ key: String, _ value: String, lease: Int64 = 0, deleting: String? = nil, if conditions: [Condition]) async throws -> Bool {
        let compare = conditions.map { c -> TxnRequest.Compare in
            switch c {
            case let .created(k, at): return .init(key: Self.base64(k), target: "CREATE", create_revision: String(at))
            case let .modified(k, at): return .init(key: Self.base64(k), target: "MOD", create_revision: nil, mod_revision: String(at))
            }
        }
        var success = [TxnRequest.Op(request_put: .init(key: Self.base64(key), value: Self.base64(value), lease: String(lease)), request_range: nil)]
        if let deleting { success.append(.init(request_put: nil, request_range: nil, request_delete_range: .init(key: Self.base64(deleting), range_end: nil))) }
        let reply: TxnResponse = try await post("/v3/kv/txn", TxnRequest(compare: compare, success: success, failure: []))
        return reply.succeeded ?? false
    }

    /// Deletes every key that starts with `prefix`.
    public func deletePrefix(_ prefix: String) async throws {
        var end = Array(prefix.utf8)
        end[end.count - 1] += 1
        let _: Header = try await post("/v3/kv/deleterange", RangeRequest(key: Self.base64(prefix), range_end: Data(end).base64EncodedString()))
    }

    /// Puts `value` at `key`, attached to `lease` (0: none).
    public func put(_ key: String, _ value: String, lease: Int64) async throws {
        let _: Header = try await post("/v3/kv/put", TxnRequest.Put(key: Self.base64(key), value: Self.base64(value), lease: String(lease)))
    }

    /// One key, nil when absent.
    public func get(_ key: String) async throws -> KeyValue? {
        try await range(RangeRequest(key: Self.base64(key), range_end: nil)).first
    }

    /// Every key that starts with `prefix`, in key order.
    public func keys(prefix: String) async throws -> [KeyValue] {
        var end = Array(prefix.utf8)
        end[end.count - 1] += 1   // the smallest key after every key with the prefix
        return try await range(RangeRequest(key: Self.base64(prefix), range_end: Data(end).base64EncodedString()))
    }

    /// Whether etcd answers and says it is healthy.
    public func isHealthy() async -> Bool {
        for endpoint in endpoints {
            var request = HTTPClientRequest(url: endpoint + "/health")
            request.method = .GET
            guard let response = try? await http.execute(request, timeout: Self.timeout) else { continue }   // unreachable: the next endpoint
            let body = try? await response.body.collect(upTo: 4096)   // a body that does not arrive is not healthy
            if response.status == .ok, let body, String(buffer: body).contains("\"true\"") { return true }
        }
        return false
    }

    private func range(_ request: RangeRequest) async throws -> [KeyValue] {
        let reply: RangeResponse = try await post("/v3/kv/range", request)
        return (reply.kvs ?? []).map(KeyValue.init)
    }

    // MARK: Transport

    /// POSTs JSON to the first endpoint that answers; etcd's own errors come back as `Failure`.
    private func post<Request: Encodable, Response: Decodable>(_ path: String, _ body: Request) async throws -> Response {
        var lastError: any Error = Failure(description: "no etcd endpoint")
        for endpoint in endpoints {
            var request = HTTPClientRequest(url: endpoint + path)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
            do {
                let response = try await http.execute(request, timeout: Self.timeout)
                let bytes = try await response.body.collect(upTo: Self.maxResponseBytes)
                guard response.status == .ok else {
                    throw Failure(description: "etcd \(path): HTTP \(response.status.code): \(String(buffer: bytes).prefix(300))")
                }
                return try JSONDecoder().decode(Response.self, from: Data(buffer: bytes))
            } catch {
                lastError = error
            }
        }
        throw Failure(description: "etcd \(path) at \(endpoints.joined(separator: ", ")): \(lastError)")
    }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
}

/// A key as etcd holds it.
public struct KeyValue: Sendable, Equatable {
    public var key: String
    public var value: String
    public var createRevision: Int64
    public var modRevision: Int64
    public var lease: Int64

    init(_ raw: RawKeyValue) {
        func text(_ b64: String?) -> String { b64.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? "" }
        key = text(raw.key); value = text(raw.value)
        createRevision = raw.create_revision.flatMap { Int64($0) } ?? 0
        modRevision = raw.mod_revision.flatMap { Int64($0) } ?? 0
        lease = raw.lease.flatMap { Int64($0) } ?? 0
    }
}

// The gateway's JSON, field names as etcd spells them.
struct LeaseGrantRequest: Encodable { var TTL: String }
struct LeaseGrantResponse: Decodable { var ID: String?; var TTL: String?; var error: String? }
struct LeaseIDRequest: Encodable { var ID: String }
struct KeepAliveEnvelope: Decodable {
    struct Result: Decodable { var ID: String?; var TTL: String? }
    var result: Result?
}
struct Header: Decodable {}
struct TxnRequest: Encodable {
    struct Compare: Encodable { var key: String; var target: String; var create_revision: String?; var mod_revision: String? = nil }
    struct Op: Encodable {
        var request_put: Put?
        var request_range: RangeRequest?
        var request_delete_range: RangeRequest? = nil
    }
    struct Put: Encodable { var key: String; var value: String; var lease: String }
    var compare: [Compare]
    var success: [Op]
    var failure: [Op]
}
struct TxnResponse: Decodable {
    struct Response: Decodable { var response_range: RangeResponse? }
    var succeeded: Bool?
    var responses: [Response]?
}
struct RangeRequest: Encodable { var key: String; var range_end: String? }
struct RangeResponse: Decodable { var kvs: [RawKeyValue]? }
struct RawKeyValue: Decodable { var key: String?; var value: String?; var create_revision: String?; var mod_revision: String?; var lease: String? }
