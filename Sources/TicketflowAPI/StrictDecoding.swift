import Foundation

/// A request body the server refuses, with the error code and message the client gets
/// (`400`). Thrown from the request types' decoders, so every rule lives beside its field.
public struct RequestError: Error, Sendable, Equatable {
    public enum Code: String, Sendable {
        case malformedJSON = "malformed_json"
        case unknownField = "unknown_field"
        case missingField = "missing_field"
        case invalidField = "invalid_field"
    }

    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
}

/// How large each part of a request may be, in characters (Unicode code points, as JSON
/// Schema counts). Chosen so that the largest valid request, every character written as a
/// `\uXXXX` surrogate pair (12 bytes), still fits under the node's body limit
/// (`bodyBytes`): a request the document allows is never refused for its size.
public enum RequestLimits {
    public static let bodyBytes = 1_536 << 10
    public static let subject = 1000
    public static let text = 60_000
    public static let name = 500
    public static let email = 320
    public static let identifier = 200
    public static let listItems = 50
    public static let listItemLength = 100
    public static let fields = 50
    public static let fieldName = 100
    public static let fieldValue = 1000
}

/// Decodes request bodies strictly: unknown fields and values of the wrong type are errors
/// with the field's name, never silently ignored or coerced.
public enum JSONInput {
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        guard !bytes.isEmpty else { throw RequestError(.malformedJSON, "the request needs a JSON object body") }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as RequestError {
            throw error
        } catch let error as DecodingError {
            throw describe(error)
        }
    }

    /// Turns the decoder's error into one a client can act on.
    static func describe(_ error: DecodingError) -> RequestError {
        func path(_ context: DecodingError.Context, _ last: (any CodingKey)? = nil) -> String {
            let keys = context.codingPath + (last.map { [$0] } ?? [])
            return keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return RequestError(.missingField, "'\(path(context, key))' is required")
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            guard !context.codingPath.isEmpty else { return RequestError(.malformedJSON, "the body must be a JSON object") }
            return RequestError(.invalidField, "'\(path(context))' must be \(describe(type))")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return RequestError(.malformedJSON, "the body is not valid JSON") }
            return RequestError(.invalidField, "'\(path(context))': \(context.debugDescription)")
        @unknown default:
            return RequestError(.malformedJSON, "the body could not be read")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type: return "a whole number"
        case is [String].Type: return "a list of strings"
        case is [String: String].Type: return "an object of strings"
        default: return "of another type"
        }
    }
}

extension Decoder {
    /// The body's object, its fields checked against `Keys`: a field it does not know is
    /// refused, naming it and the known ones. One container serves the check and the reads
    /// (each container the decoder makes indexes the object anew: two cost twice).
    public func strictContainer<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type, in context: String) throws -> KeyedDecodingContainer<AnyKey> {
        let container = try self.container(keyedBy: AnyKey.self)
        let known = Keys.allCases.map(\.stringValue)
        let unknown = container.allKeys.lazy.map(\.stringValue).filter { !known.contains($0) }.sorted()
        guard !unknown.isEmpty else { return container }
        throw RequestError(.unknownField, "unknown field\(unknown.count > 1 ? "s" : "") \(unknown.map { "'\($0)'" }.joined(separator: ", ")) in \(context); expected \(known.sorted().joined(separator: ", "))")
    }
}

extension KeyedDecodingContainer {
    @inline(__always)
    func key(_ name: some CodingKey) -> Key { Key(stringValue: name.stringValue)! }

    /// Whether the field is there and not null.
    public func has(_ name: some CodingKey) throws -> Bool {
        contains(key(name)) ? try !decodeNil(forKey: key(name)) : false
    }

    /// A field's value, nil when absent or null.
    public func value<T: Decodable>(_ type: T.Type, _ name: some CodingKey) throws -> T? {
        try decodeIfPresent(T.self, forKey: key(name))
    }

    /// A field that must be there.
    public func required<T: Decodable>(_ type: T.Type, _ name: some CodingKey) throws -> T {
        guard try has(name) else { throw RequestError(.missingField, "'\(name.stringValue)' is required") }
        return try decode(T.self, forKey: key(name))
    }

    /// A string of `min`…`max` characters, nil when absent or null. Characters are counted
    /// as Unicode code points, as JSON Schema's `minLength` and `maxLength` count them.
    public func string(_ name: some CodingKey, min: Int = 0, max: Int = 10_000) throws -> String? {
        guard let s = try decodeIfPresent(String.self, forKey: key(name)) else { return nil }
        let length = s.unicodeScalars.count
        guard length <= max else { throw RequestError(.invalidField, "'\(name.stringValue)' is longer than \(max) characters") }
        guard length >= min else {
            throw RequestError(.invalidField, min == 1 ? "'\(name.stringValue)' must not be empty" : "'\(name.stringValue)' is shorter than \(min) characters")
        }
        return s
    }

    /// A required string.
    public func requiredString(_ name: some CodingKey, min: Int = 0, max: Int = 10_000) throws -> String {
        guard try has(name) else { throw RequestError(.missingField, "'\(name.stringValue)' is required") }
        return try string(name, min: min, max: max)!
    }

    /// A list of strings, nil when absent or null; at most `count` items of at most `max` characters.
    public func strings(_ name: some CodingKey, count: Int = RequestLimits.listItems, max: Int = RequestLimits.listItemLength) throws -> [String]? {
        guard let list = try decodeIfPresent([String].self, forKey: key(name)) else { return nil }
        guard list.count <= count else { throw RequestError(.invalidField, "'\(name.stringValue)' has more than \(count) items") }
        guard list.allSatisfy({ $0.unicodeScalars.count <= max }) else {
            throw RequestError(.invalidField, "an item of '\(name.stringValue)' is longer than \(max) characters")
        }
        return list
    }

    /// One of an enum's values, named in the error when it is not.
    public func oneOf<E: RawRepresentable & CaseIterable>(_ type: E.Type, _ name: some CodingKey, what: String) throws -> E? where E.RawValue == String {
        guard let text = try decodeIfPresent(String.self, forKey: key(name)) else { return nil }
        guard let value = E(rawValue: text) else {
            throw RequestError(.invalidField, "unknown \(what) '\(text)'; expected one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    /// A map of strings (custom fields), at most `count` entries.
    public func stringMap(_ name: some CodingKey, count: Int = RequestLimits.fields) throws -> [String: String]? {
        guard let map = try decodeIfPresent([String: String].self, forKey: key(name)) else { return nil }
        guard map.count <= count else { throw RequestError(.invalidField, "'\(name.stringValue)' has more than \(count) entries") }
        guard map.allSatisfy({ $0.key.unicodeScalars.count <= RequestLimits.fieldName && $0.value.unicodeScalars.count <= RequestLimits.fieldValue }) else {
            throw RequestError(.invalidField, "a name in '\(name.stringValue)' is longer than \(RequestLimits.fieldName) characters or a value longer than \(RequestLimits.fieldValue)")
        }
        return map
    }
}
