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

    /// Parses YAML text into a tree and every problem found on the way. A syntax error stops
    /// the parser (one diagnostic, no tree); a document over the budget (size, nesting, nodes
    /// after alias expansion) is refused before any tree is built, so a few lines of nested
    /// aliases cannot exhaust the node. Keys given twice or keys that are not plain text are
    /// all reported, and the tree keeps the first of each key, so the compiler can go on and
    /// report its own findings beside them.
    public static func parse(_ text: String, file: String, budget: YAMLBudget = .standard) -> (syntax: Syntax?, diagnostics: [Diagnostic]) {
        let scan = budget.scan(text)
        if let exceeded = scan.exceeded {
            return (nil, [Diagnostic(file: file, line: exceeded.line, column: exceeded.column, severity: .error,
                                     message: exceeded.message, rule: "yaml-limit")])
        }
        // Yams refuses a document at its first mapping with a repeated key; every one is named.
        guard scan.duplicates.isEmpty else {
            return (nil, scan.duplicates.map {
                Diagnostic(file: file, line: $0.line, column: $0.column, severity: .error, message: "duplicate key '\($0.key)'", rule: "duplicate-key")
            })
        }
        do {
            guard let node = try Yams.compose(yaml: text) else {
                return (.map([], SourcePosition(file: file, line: 1, column: 1)), [])
            }
            var diagnostics: [Diagnostic] = []
            let syntax = convert(node, file: file, diagnostics: &diagnostics)
            return (syntax, diagnostics)
        } catch let error as YamlError {
            switch error {
            case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
                return (nil, [Diagnostic(file: file, line: mark.line, column: mark.column, severity: .error,
                                         message: "YAML syntax: \(problem)", rule: "yaml")])
            case let .duplicatedKeysInMapping(keys, context):
                // Keys that are not plain text (the scan above names the plain ones).
                return (nil, [Diagnostic(file: file, line: context.mark.line, column: context.mark.column, severity: .error,
                                         message: "duplicate key \(keys.map { "'\($0)'" }.joined(separator: ", "))", rule: "duplicate-key")])
            default:
                return (nil, [Diagnostic(file: file, line: 1, column: 1, severity: .error, message: "YAML: \(error)", rule: "yaml")])
            }
        } catch {
            return (nil, [Diagnostic(file: file, line: 1, column: 1, severity: .error, message: "YAML: \(error)", rule: "yaml")])
        }
    }

    static func convert(_ node: Node, file: String, diagnostics: inout [Diagnostic]) -> Syntax {
        let pos = SourcePosition(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
        switch node {
        case .scalar(let s):
            return .scalar(s.string, pos)
        case .sequence(let seq):
            return .list(seq.map { convert($0, file: file, diagnostics: &diagnostics) }, pos)
        case .mapping(let mapping):
            var entries: [Entry] = []
            var seen: Set<String> = []
            for (key, value) in mapping {
                let keyPos = SourcePosition(file: file, line: key.mark?.line ?? pos.line, column: key.mark?.column ?? pos.column)
                guard let keyText = key.string else {
                    diagnostics.append(Diagnostic(file: file, line: keyPos.line, column: keyPos.column, severity: .error,
                                                  message: "mapping keys must be plain text", rule: "yaml"))
                    continue
                }
                guard seen.insert(keyText).inserted else {
                    diagnostics.append(Diagnostic(file: file, line: keyPos.line, column: keyPos.column, severity: .error,
                                                  message: "duplicate key '\(keyText)'", rule: "duplicate-key"))
                    continue
                }
                entries.append(Entry(key: keyText, keyPosition: keyPos, value: convert(value, file: file, diagnostics: &diagnostics)))
            }
            return .map(entries, pos)
        case .alias:
            // Yams's composer expands aliases into their anchored nodes (counted by the budget);
            // an unexpanded alias would mean a different composer.
            diagnostics.append(Diagnostic(file: file, line: pos.line, column: pos.column, severity: .error,
                                          message: "unexpanded YAML alias", rule: "yaml"))
            return .scalar("", pos)
        }
    }
}
