import HTTPTypes
import Foundation
import Hummingbird

/// An `application/x-www-form-urlencoded` body, as the portal's forms send it: at most
/// `limit` bytes and 20 fields, each name once.
struct FormBody {
    private(set) var fields: [String: String] = [:]
    static let limit = 64 << 10

    static func read(_ request: Request) async throws -> FormBody {
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: limit) } catch {
            throw APIError(.contentTooLarge, "body_too_large", "the form is larger than \(limit) bytes")
        }
        var form = FormBody()
        let text = String(decoding: buffer.readableBytesView, as: UTF8.self)
        let pairs = text.split(separator: "&", omittingEmptySubsequences: true)
        guard pairs.count <= 20 else { throw APIError(.badRequest, "invalid_form", "too many form fields") }
        for pair in pairs {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]), let value = decode(parts.count > 1 ? parts[1] : "") else {
                throw APIError(.badRequest, "invalid_form", "a form field is not valid percent-encoding")
            }
            guard form.fields[name] == nil else { throw APIError(.badRequest, "invalid_form", "form field '\(name)' is given twice") }
            form.fields[name] = value
        }
        return form
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    subscript(_ name: String) -> String? { fields[name] }

    /// A field trimmed of surrounding white space; nil when absent or empty.
    func text(_ name: String) -> String? {
        guard let value = fields[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }
}
