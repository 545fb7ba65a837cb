import TicketflowServer
import HTTPTypes
import Hummingbird
import NIOCore
import TicketflowCluster

/// An HTTP request travelling to the node that owns what it is about (the argument of
/// `NodeService.handle`). Only the headers the
/// API reads travel; the body goes as is.
struct ForwardedRequest: Equatable, Sendable, WireCodable {
    /// Headers that carry meaning for the API; the rest stay at the edge.
    static let carriedHeaders = ["content-type", "idempotency-key", "x-agent", "x-ticketflow-chosen"]

    var method: String
    /// Path and query, e.g. `/api/v1/tickets?status=open`.
    var target: String
    var headers: [Header]
    var body: [UInt8]

    struct Header: Equatable, Sendable {
        var name: String
        var value: String

        static func encode(_ headers: [Header], to w: inout WireWriter) {
            w.uint(UInt64(headers.count))
            for h in headers { w.string(h.name); w.string(h.value) }
        }

        static func decodeList(_ r: inout WireReader) throws(Envelope.Malformed) -> [Header] {
            let count = try r.uint()
            guard count <= 64 else { throw Envelope.Malformed(reason: "too many headers") }
            var headers: [Header] = []
            for _ in 0..<count { headers.append(Header(name: try r.string(), value: try r.string())) }
            return headers
        }
    }

    init(method: String, target: String, headers: [Header], body: [UInt8]) {
        self.method = method; self.target = target; self.headers = headers; self.body = body
    }

    func encode(to w: inout WireWriter) {
        w.string(method)
        w.string(target)
        Header.encode(headers, to: &w)
        w.blob(body)
    }

    init(wire r: inout WireReader) throws(Envelope.Malformed) {
        method = try r.string()
        target = try r.string()
        headers = try Header.decodeList(&r)
        body = try r.blob()
    }
}

/// The owner's answer to a forwarded request: status, the headers a client needs, body.
struct ForwardedResponse: Equatable, Sendable, WireCodable {
    static let carriedHeaders = ["content-type", "location", "retry-after", "idempotent-replayed"]

    var status: Int
    var headers: [ForwardedRequest.Header]
    var body: [UInt8]

    init(status: Int, headers: [ForwardedRequest.Header], body: [UInt8]) {
        self.status = status; self.headers = headers; self.body = body
    }

    func encode(to w: inout WireWriter) {
        w.uint(UInt64(status))
        ForwardedRequest.Header.encode(headers, to: &w)
        w.blob(body)
    }

    init(wire r: inout WireReader) throws(Envelope.Malformed) {
        let code = try r.uint()
        guard (100...599).contains(code) else { throw Envelope.Malformed(reason: "status \(code) out of range") }
        status = Int(code)
        headers = try ForwardedRequest.Header.decodeList(&r)
        body = try r.blob()
    }
}

extension ForwardedRequest {
    /// The request as the router takes it.
    var request: Request {
        var fields = HTTPFields()
        for h in headers { if let name = HTTPField.Name(h.name) { fields[name] = h.value } }
        let head = HTTPRequest(method: HTTPRequest.Method(method) ?? .get, scheme: nil, authority: nil, path: target, headerFields: fields)
        return Request(head: head, body: .init(buffer: ByteBuffer(bytes: body)))
    }

    /// The partition it is for, when the node leading it is not its home node.
    var shard: String? { headers.first { $0.name == ClusterGateway.shardHeader }?.value }
}

extension ForwardedResponse {
    /// The response as the client gets it, naming the node that ran it.
    func response(servedBy member: String) -> Response {
        var fields = HTTPFields()
        for h in headers { if let name = HTTPField.Name(h.name) { fields[name] = h.value } }
        fields[HTTPField.Name("X-Ticketflow-Node")!] = member
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
