import TicketflowCluster

/// An HTTP request travelling to the node that owns what it is about. Only the headers the
/// API reads travel; the body goes as is.
struct ForwardedRequest: Equatable, Sendable {
    /// Headers that carry meaning for the API; the rest stay at the edge.
    static let carriedHeaders = ["content-type", "idempotency-key", "x-agent"]

    var method: String
    /// Path and query, e.g. `/api/v1/tickets?status=open`.
    var target: String
    var headers: [Header]
    var body: [UInt8]

    struct Header: Equatable, Sendable {
        var name: String
        var value: String
    }

    func encode() -> [UInt8] {
        var w = WireWriter()
        w.string(method)
        w.string(target)
        w.uint(UInt64(headers.count))
        for h in headers { w.string(h.name); w.string(h.value) }
        w.blob(body)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(Envelope.Malformed) -> ForwardedRequest {
        var r = WireReader(bytes)
        let method = try r.string(), target = try r.string()
        let count = try r.uint()
        guard count <= 64 else { throw Envelope.Malformed(reason: "too many headers") }
        var headers: [Header] = []
        for _ in 0..<count { headers.append(Header(name: try r.string(), value: try r.string())) }
        let body = try r.blob()
        guard r.isAtEnd else { throw Envelope.Malformed(reason: "trailing bytes after the request") }
        return ForwardedRequest(method: method, target: target, headers: headers, body: body)
    }
}

/// The owner's answer to a forwarded request: status, the headers a client needs, body.
struct ForwardedResponse: Equatable, Sendable {
    static let carriedHeaders = ["content-type", "location", "retry-after"]

    var status: Int
    var headers: [ForwardedRequest.Header]
    var body: [UInt8]

    func encode() -> [UInt8] {
        var w = WireWriter()
        w.uint(UInt64(status))
        w.uint(UInt64(headers.count))
        for h in headers { w.string(h.name); w.string(h.value) }
        w.blob(body)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(Envelope.Malformed) -> ForwardedResponse {
        var r = WireReader(bytes)
        let status = try r.uint()
        guard (100...599).contains(status) else { throw Envelope.Malformed(reason: "status \(status) out of range") }
        let count = try r.uint()
        guard count <= 64 else { throw Envelope.Malformed(reason: "too many headers") }
        var headers: [ForwardedRequest.Header] = []
        for _ in 0..<count { headers.append(.init(name: try r.string(), value: try r.string())) }
        let body = try r.blob()
        guard r.isAtEnd else { throw Envelope.Malformed(reason: "trailing bytes after the response") }
        return ForwardedResponse(status: Int(status), headers: headers, body: body)
    }
}
