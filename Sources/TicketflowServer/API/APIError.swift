import Foundation
import Hummingbird
import TicketflowAPI
import TicketflowCore
import TicketflowNode

/// An error answer: a status, a stable machine-readable code and a message for people.
/// Rendered as `{"error": {"code": "...", "message": "..."}}`. `from(_:)` is the one place
/// that decides the HTTP status of every error the node, the engine or a request raises.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var details: [String] = []
    public var retryAfter: Int?
    /// For 405: the methods the path does answer.
    public var allow: [HTTPRequest.Method] = []

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, details: [String] = []) {
        self.status = status; self.code = code; self.message = message; self.details = details
    }

    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as RequestError: return APIError(.badRequest, e.code.rawValue, e.message)
        case NodeError.rejected(let r):
            switch r.code.kind {
            case .conflict: return APIError(.conflict, r.code.rawValue, r.message)
            case .notFound: return APIError(.notFound, r.code.rawValue, r.message)
            case .invalid: return APIError(.unprocessableContent, r.code.rawValue, r.message)
            }
        case NodeError.notFound(let id): return APIError(.notFound, "unknown_ticket", "no ticket with id '\(id)'")
        case NodeError.agentNotFound(let id): return APIError(.notFound, "unknown_agent", "no agent with id '\(id)'")
        case NodeError.invalidWorkflow(let diagnostics):
            return APIError(.unprocessableContent, "invalid_workflow",
                            "the workflow has \(diagnostics.filter { $0.severity == .error }.count) error(s); the running workflow stays in force",
                            details: diagnostics.map(\.description))
        case NodeError.idempotencyKeyReused(let ticket, let key):
            return APIError(.unprocessableContent, "idempotency_key_reused",
                            "Idempotency-Key '\(key)' was already used for another request (ticket \(ticket)); a key names one request")
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

    public func response() -> Response {
        var response = JSONResponse.make(ErrorBody(code: code, message: message, details: details.isEmpty ? nil : details), status: status)
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        if !allow.isEmpty { response.headers[.allow] = allow.map(\.rawValue).joined(separator: ", ") }
        return response
    }
}

/// JSON answers and bodies.
public enum JSONResponse {
    public static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: JSONOutput.bytes(value))))
    }

    /// The whole body, at most `limit` bytes; a larger one is a 413 `body_too_large`.
    public static func body(_ request: inout Request, limit: Int) async throws -> ByteBuffer {
        do {
            return try await request.collectBody(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, "body_too_large", "the request body is larger than \(limit) bytes")
        }
    }

    /// Reads and strictly decodes a JSON body of at most `limit` bytes; also returns the bytes
    /// (an idempotency fingerprint hashes what the client sent).
    public static func decode<T: Decodable>(_ type: T.Type, _ request: Request, limit: Int) async throws -> (T, ByteBuffer) {
        var request = request
        let buffer = try await body(&request, limit: limit)
        return (try JSONInput.decode(T.self, from: buffer.readableBytesView), buffer)
    }
}
