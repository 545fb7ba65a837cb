import Foundation
import TicketflowTesting
import Yams

/// A JSON value, for checking answers against the document's schemas.
indirect enum JSONValue: Decodable, Equatable, CustomStringConvertible {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let d = try? c.decode(Double.self) { self = .number(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        self = .object(try c.decode([String: JSONValue].self))
    }

    /// From what Yams loads (strings, numbers, booleans, nulls, lists and maps).
    init(yaml value: Any?) {
        switch value {
        case nil, is NSNull: self = .null
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .number(Double(i))
        case let d as Double: self = .number(d)
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map { JSONValue(yaml: $0) })
        case let m as [String: Any]: self = .object(m.mapValues { JSONValue(yaml: $0) })
        case let m as [AnyHashable: Any]: self = .object(Dictionary(uniqueKeysWithValues: m.map { ("\($0.key)", JSONValue(yaml: $0.value)) }))
        default: self = .string("\(value!)")
        }
    }

    subscript(key: String) -> JSONValue? { if case .object(let o) = self { return o[key] } else { return nil } }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .number(let n): return String(n)
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[\(a.count) items]"
        case .object(let o): return "{\(o.keys.sorted().joined(separator: ", "))}"
        }
    }
}

/// docs/openapi.yaml, read once, with a checker for the subset of JSON Schema it uses.
struct OpenAPIDocument {
    let root: JSONValue

    static let shared: OpenAPIDocument = {
        let text = try! String(contentsOfFile: TestSupport.packageRoot + "/docs/openapi.yaml", encoding: .utf8)
        return OpenAPIDocument(root: JSONValue(yaml: try! Yams.load(yaml: text)))
    }()

    /// Paths and methods the document describes, as "METHOD /path/{param}".
    var operations: Set<String> {
        guard case .object(let paths)? = root["paths"] else { return [] }
        var out: Set<String> = []
        for (path, item) in paths {
            guard case .object(let methods) = item else { continue }
            for method in methods.keys where ["get", "put", "post", "patch", "delete"].contains(method) { out.insert("\(method.uppercased()) \(path)") }
        }
        return out
    }

    /// The schema of an operation's JSON answer with this status (or its default).
    func responseSchema(method: String, path: String, status: Int) -> JSONValue? {
        guard let operation = root["paths"]?[path]?[method.lowercased()], let responses = operation["responses"] else { return nil }
        let response = resolve(responses[String(status)] ?? responses["default"])
        return response?["content"]?["application/json"]?["schema"]
    }

    /// The schema of an operation's JSON request body.
    func requestSchema(method: String, path: String) -> JSONValue? {
        root["paths"]?[path]?[method.lowercased()]?["requestBody"]?["content"]?["application/json"]?["schema"]
    }

    func resolve(_ value: JSONValue?) -> JSONValue? {
        guard let value, case .string(let ref)? = value["$ref"] else { return value }
        var node: JSONValue? = root
        for part in ref.dropFirst(2).split(separator: "/") { node = node?[String(part)] }
        return resolve(node)
    }

    /// Every way `value` breaks `schema`, with where; empty when it conforms.
    func problems(_ value: JSONValue, _ schema: JSONValue, at path: String = "$") -> [String] {
        guard let schema = resolve(schema) else { return ["\(path): unresolvable schema"] }
        var out: [String] = []
        if case .array(let choices)? = schema["oneOf"] {
            let fitting = choices.filter { problems(value, $0, at: path).isEmpty }.count
            if fitting != 1 { out.append("\(path): fits \(fitting) of the oneOf schemas, not exactly one") }
        }
        if case .array(let choices)? = schema["anyOf"], !choices.contains(where: { problems(value, $0, at: path).isEmpty }) {
            out.append("\(path): fits none of the anyOf schemas")
        }
        if case .array(let allowed)? = schema["enum"], !allowed.contains(value) { out.append("\(path): \(value) is not one of \(allowed)") }
        if let type = schema["type"] {
            let types: [String]
            switch type {
            case .string(let t): types = [t]
            case .array(let list): types = list.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
            default: types = []
            }
            if !types.contains(where: { Self.matches(value, $0) }) { return out + ["\(path): \(value) is not \(types.joined(separator: " or "))"] }
        }
        switch value {
        case .string(let s):
            let length = s.unicodeScalars.count
            if case .number(let max)? = schema["maxLength"], Double(length) > max { out.append("\(path): longer than \(Int(max))") }
            if case .number(let min)? = schema["minLength"], Double(length) < min { out.append("\(path): shorter than \(Int(min))") }
            if case .string(let pattern)? = schema["pattern"], s.range(of: pattern, options: .regularExpression) == nil { out.append("\(path): does not match \(pattern)") }
        case .number(let n):
            if case .number(let max)? = schema["maximum"], n > max { out.append("\(path): above \(max)") }
            if case .number(let min)? = schema["minimum"], n < min { out.append("\(path): below \(min)") }
        case .array(let items):
            if case .number(let max)? = schema["maxItems"], Double(items.count) > max { out.append("\(path): more than \(Int(max)) items") }
            if let itemSchema = schema["items"] {
                for (i, item) in items.enumerated() { out += problems(item, itemSchema, at: "\(path)[\(i)]") }
            }
        case .object(let fields):
            if case .array(let required)? = schema["required"] {
                for case .string(let key) in required where fields[key] == nil { out.append("\(path): '\(key)' is required") }
            }
            let properties: [String: JSONValue]
            if case .object(let p)? = schema["properties"] { properties = p } else { properties = [:] }
            for (key, field) in fields {
                if let p = properties[key] { out += problems(field, p, at: "\(path).\(key)"); continue }
                switch schema["additionalProperties"] {
                case .bool(false)?: out.append("\(path): '\(key)' is not in the schema")
                case .object?: out += problems(field, schema["additionalProperties"]!, at: "\(path).\(key)")
                default: break
                }
                if case .number(let max)? = schema["propertyNames"]?["maxLength"], Double(key.unicodeScalars.count) > max {
                    out.append("\(path): name '\(key)' longer than \(Int(max))")
                }
            }
            if case .number(let max)? = schema["maxProperties"], Double(fields.count) > max { out.append("\(path): more than \(Int(max)) properties") }
        default: break
        }
        return out
    }

    static func matches(_ value: JSONValue, _ type: String) -> Bool {
        switch (value, type) {
        case (.null, "null"), (.bool, "boolean"), (.string, "string"), (.array, "array"), (.object, "object"), (.number, "number"): return true
        case (.number(let n), "integer"): return n.rounded() == n
        default: return false
        }
    }
}
