import TicketflowYAML
import Yams

/// A YAML document reduced to what the DSL needs: scalars, lists and ordered maps,
/// each with the position it came from, so every diagnostic can point at its source.
public indirect enum Syntax: Sendable {
    case scalar(String, SourcePosition)
    case list([Syntax], SourcePosition)
    case map([Entry], SourcePosition)

    public struct Entry: Sendable {
        public var key: String
        public var keyPosition: SourcePosition
        public var value: Syntax
    }

    public var position: SourcePosition {
        switch self {
        case .scalar(_, let p), .list(_, let p), .map(_, let p): return p
        }
    }

    public var scalar: String? { if case .scalar(let s, _) = self { return s } else { return nil } }

    /// A word for "what was found" in type errors.
    public var kindName: String {
        switch self {
        case .scalar: return "a value"
        case .list: return "a list"
        case .map: return "a mapping"
        }
    }

    /// Parses YAML text. Syntax errors come back as one diagnostic with the parser's position;
    /// a document over the budget (size, nesting, nodes after alias expansion) is refused
    /// before any tree is built, so a few lines of nested aliases cannot exhaust the node.
    public static func parse(_ text: String, file: String, budget: YAMLBudget = .standard) -> Result<Syntax, Diagnostic> {
        if let exceeded = budget.check(text) {
            return .failure(Diagnostic(file: file, line: exceeded.line, column: exceeded.column, severity: .error,
                                       message: exceeded.message, rule: "yaml-limit"))
        }
        do {
            guard let node = try Yams.compose(yaml: text) else {
                return .success(.map([], SourcePosition(file: file, line: 1, column: 1)))
            }
            return convert(node, file: file)
        } catch let error as YamlError {
            switch error {
            case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
                return .failure(Diagnostic(file: file, line: mark.line, column: mark.column, severity: .error,
                                           message: "YAML syntax: \(problem)", rule: "yaml"))
            default:
                return .failure(Diagnostic(file: file, line: 1, column: 1, severity: .error, message: "YAML: \(error)", rule: "yaml"))
            }
        } catch {
            return .failure(Diagnostic(file: file, line: 1, column: 1, severity: .error, message: "YAML: \(error)", rule: "yaml"))
        }
    }

    static func convert(_ node: Node, file: String) -> Result<Syntax, Diagnostic> {
        let pos = SourcePosition(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
        switch node {
        case .scalar(let s):
            return .success(.scalar(s.string, pos))
        case .sequence(let seq):
            var items: [Syntax] = []
            for child in seq {
                switch convert(child, file: file) {
                case .success(let s): items.append(s)
                case .failure(let d): return .failure(d)
                }
            }
            return .success(.list(items, pos))
        case .mapping(let mapping):
            var entries: [Entry] = []
            var seen: Set<String> = []
            for (key, value) in mapping {
                let keyPos = SourcePosition(file: file, line: key.mark?.line ?? pos.line, column: key.mark?.column ?? pos.column)
                guard let keyText = key.string else {
                    return .failure(Diagnostic(file: file, line: keyPos.line, column: keyPos.column, severity: .error,
                                               message: "mapping keys must be plain text", rule: "yaml"))
                }
                guard seen.insert(keyText).inserted else {
                    return .failure(Diagnostic(file: file, line: keyPos.line, column: keyPos.column, severity: .error,
                                               message: "duplicate key '\(keyText)'", rule: "duplicate-key"))
                }
                switch convert(value, file: file) {
                case .success(let v): entries.append(Entry(key: keyText, keyPosition: keyPos, value: v))
                case .failure(let d): return .failure(d)
                }
            }
            return .success(.map(entries, pos))
        case .alias:
            // Yams's composer expands aliases into their anchored nodes (counted by the budget);
            // an unexpanded alias would mean a different composer.
            return .failure(Diagnostic(file: file, line: pos.line, column: pos.column, severity: .error,
                                       message: "unexpanded YAML alias", rule: "yaml"))
        }
    }
}
