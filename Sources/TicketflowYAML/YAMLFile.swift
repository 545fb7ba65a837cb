import Foundation
import Yams

/// Reads configuration files (cluster files, storm profiles) as YAML, within the budget, into
/// a `Decodable` type, with errors that name the file and the field.
public enum YAMLFile {
    /// Why a file could not be read, as one line that starts with the file's path.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The file's text: UTF-8, at most `budget.bytes` long.
    public static func text(at path: String, budget: YAMLBudget = .standard) throws(Problem) -> String {
        // Read no more than one byte past the limit: a huge file is refused without being loaded.
        let data: Data
        do {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw Problem(description: "\(path): cannot read file (missing or unreadable)")
            }
            defer { try? handle.close() }   // read-only: closing cannot lose anything
            data = try handle.read(upToCount: budget.bytes + 1) ?? Data()
        } catch let problem as Problem {
            throw problem
        } catch {
            throw Problem(description: "\(path): cannot read file: \(error.localizedDescription)")
        }
        guard data.count <= budget.bytes else {
            throw Problem(description: "\(path): the file is larger than \(budget.bytes) bytes")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw Problem(description: "\(path): the file is not UTF-8 text") }
        return text
    }

    /// Decodes the file at `path` as `T`, after checking it against the budget.
    public static func decode<T: Decodable>(_ type: T.Type, at path: String, budget: YAMLBudget = .standard) throws(Problem) -> T {
        let text = try text(at: path, budget: budget)
        if let exceeded = budget.check(text) { throw Problem(description: "\(path):\(exceeded)") }
        do {
            return try YAMLDecoder().decode(T.self, from: text)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context),
                let DecodingError.valueNotFound(_, context) {
            throw Problem(description: "\(path): \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, context) {
            let field = (context.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            throw Problem(description: "\(path): '\(field)' is required")
        } catch {
            throw Problem(description: "\(path): \(error)")
        }
    }
}
