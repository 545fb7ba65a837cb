import Foundation
import Hummingbird
import TicketflowCore
import TicketflowNode
import TicketflowStorage

/// An error answer: a status, a stable machine-readable code and a message for people.
/// Rendered as `{"error": {"code": "...", "message": "..."}}`.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var details: [String] = []
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, details: [String] = []) {
        self.status = status; self.code = code; self.message = message; self.details = details
    }

    static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case NodeError.rejected(let r):
            let status: HTTPResponse.Status = ["transition_not_allowed", "no_line", "ticket_solved"].contains(r.code) ? .conflict : .unprocessableContent
            return APIError(status, r.code, r.message)
        case NodeError.notFound(let id): return APIError(.notFound, "unknown_ticket", "no ticket with id '\(id)'")
        case NodeError.invalidWorkflow(let diagnostics):
            return APIError(.unprocessableContent, "invalid_workflow",
                            "the workflow has \(diagnostics.filter { $0.severity == .error }.count) error(s); the running workflow stays in force",
                            details: diagnostics.map(\.description))
        case NodeError.idempotencyKeyReused(let ticket, let key):
            return APIError(.unprocessableContent, "idempotency_key_reused",
                            "Idempotency-Key '\(key)' was used for another request on ticket \(ticket); a key names one request")
        case NodeError.unavailable(let why):
            var e = APIError(.serviceUnavailable, "unavailable", why)
            e.retryAfter = 5
            return e
        case let e as HTTPError where e.status == .contentTooLarge:
            return APIError(.contentTooLarge, "body_too_large", "the request body is larger than the limit")
        case let e as HTTPError where e.status == .notFound:
            return APIError(.notFound, "unknown_route", "no such path, or not with this method; see docs/openapi.yaml")
        case let e as HTTPError:
            return APIError(e.status, "http_error", e.body ?? e.status.reasonPhrase)
        default:
            return APIError(.internalServerError, "internal", "internal error: \(error)")
        }
    }

    func response() -> Response {
        var body: [String: Any] = ["code": code, "message": message]
        if !details.isEmpty { body["details"] = details }
        var response = JSON.response(["error": body], status: status)
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }
}

/// JSON in and out, strict on the way in: unknown fields are errors, not silently ignored.
enum JSON {
    static func response(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = JSONWriter.data(object)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The whole body, at most `limit` bytes; a larger one is a 413 `body_too_large`.
    static func body(_ request: inout Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.collectBody(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, "body_too_large", "the request body is larger than \(limit) bytes")
        }
    }

    /// Reads a JSON object body of at most `limit` bytes.
    static func object(_ request: Request, limit: Int) async throws -> [String: Any] {
        var request = request
        let buffer = try await body(&request, limit: limit)
        guard buffer.readableBytes > 0 else { throw APIError(.badRequest, "malformed_json", "the request needs a JSON object body") }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))
        } catch {
            throw APIError(.badRequest, "malformed_json", "the body is not valid JSON")
        }
        guard let object = parsed as? [String: Any] else { throw APIError(.badRequest, "malformed_json", "the body must be a JSON object") }
        return object
    }

    static func rejectUnknown(_ object: [String: Any], allowed: Set<String>, context: String) throws {
        let unknown = Set(object.keys).subtracting(allowed).sorted()
        if !unknown.isEmpty {
            throw APIError(.badRequest, "unknown_field", "unknown field\(unknown.count > 1 ? "s" : "") \(unknown.map { "'\($0)'" }.joined(separator: ", ")) in \(context); expected \(allowed.sorted().joined(separator: ", "))")
        }
    }

    static func string(_ object: [String: Any], _ key: String, required: Bool = false, max: Int = 10_000) throws -> String? {
        guard let value = object[key], !(value is NSNull) else {
            if required { throw APIError(.badRequest, "missing_field", "'\(key)' is required") }
            return nil
        }
        guard let s = value as? String else { throw APIError(.badRequest, "invalid_field", "'\(key)' must be a string") }
        guard s.utf8.count <= max else { throw APIError(.badRequest, "invalid_field", "'\(key)' is longer than \(max) bytes") }
        return s
    }

    static func strings(_ object: [String: Any], _ key: String) throws -> [String] {
        guard let value = object[key], !(value is NSNull) else { return [] }
        guard let list = value as? [Any], list.allSatisfy({ $0 is String }) else {
            throw APIError(.badRequest, "invalid_field", "'\(key)' must be a list of strings")
        }
        return list as! [String]
    }

    static func bool(_ object: [String: Any], _ key: String, default value: Bool) throws -> Bool {
        guard let v = object[key], !(v is NSNull) else { return value }
        // JSONSerialization boxes numbers and booleans alike; a JSON boolean has objCType "c".
        guard let n = v as? NSNumber, String(cString: n.objCType) == "c" else {
            throw APIError(.badRequest, "invalid_field", "'\(key)' must be true or false")
        }
        return n.boolValue
    }
}
