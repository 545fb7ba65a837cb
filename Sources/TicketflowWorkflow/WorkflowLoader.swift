import Foundation
import TicketflowCore
import TicketflowYAML

/// Reads workflow files (following `include:`), compiles and checks them.
///
/// Every problem in every file is reported at once; a workflow with any error is not
/// returned, so a running node keeps its old workflow.
public enum WorkflowLoader {
    /// The result of checking a workflow: the workflow if it has no errors, and all diagnostics.
    public struct Outcome: Sendable {
        public var workflow: Workflow?
        public var diagnostics: [Diagnostic]
        public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
        public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
    }

    /// Loads a workflow file from disk. `allowedWebhookHosts` admits webhook hosts inside the
    /// network (loopback, private …) that are refused otherwise (the node's allow-list).
    public static func load(path: String, allowedWebhookHosts: Set<String> = []) -> Outcome {
        var diagnostics: [Diagnostic] = []
        var visiting: [String] = []
        guard let root = read(path: path, shownAs: path, diagnostics: &diagnostics, visiting: &visiting) else {
            return Outcome(workflow: nil, diagnostics: diagnostics)
        }
        return compile(root, diagnostics: diagnostics, allowedWebhookHosts: allowedWebhookHosts)
    }

    /// Compiles workflow text that is not on disk (an HTTP body, a test). `include:` is
    /// resolved relative to `baseDirectory` when given, and refused otherwise.
    public static func load(text: String, name: String = "workflow.yaml", baseDirectory: String? = nil,
                            allowedWebhookHosts: Set<String> = []) -> Outcome {
        var diagnostics: [Diagnostic] = []
        let parsed = Syntax.parse(text, file: name)
        guard let root = parsed.syntax else { return Outcome(workflow: nil, diagnostics: parsed.diagnostics) }
        diagnostics += parsed.diagnostics
        var visiting = [name]
        let merged = mergeIncludes(root, directory: baseDirectory, diagnostics: &diagnostics, visiting: &visiting)
        return compile(merged, diagnostics: diagnostics, allowedWebhookHosts: allowedWebhookHosts)
    }

    static func compile(_ root: Syntax, diagnostics: [Diagnostic], allowedWebhookHosts: Set<String>) -> Outcome {
        var compiler = Compiler()
        compiler.allowedWebhookHosts = Set(allowedWebhookHosts.map(WebhookHost.normalized))
        compiler.diagnostics = diagnostics
        let workflow = compiler.compile(root)
        let sorted = compiler.diagnostics.sorted { ($0.file, $0.line, $0.column) < ($1.file, $1.line, $1.column) }
        return Outcome(workflow: sorted.contains { $0.severity == .error } ? nil : workflow, diagnostics: sorted)
    }

    static func read(path: String, shownAs: String, diagnostics: inout [Diagnostic], visiting: inout [String]) -> Syntax? {
        let canonical = URL(fileURLWithPath: path).standardizedFileURL.path
        let text: String
        do { text = try YAMLFile.text(at: path) } catch {
            let message = error.description.hasPrefix(path + ": ") ? String(error.description.dropFirst(path.count + 2)) : error.description
            diagnostics.append(Diagnostic(file: shownAs, line: 1, column: 1, severity: .error, message: message, rule: "file"))
            return nil
        }
        let parsed = Syntax.parse(text, file: shownAs)
        diagnostics += parsed.diagnostics
        guard let root = parsed.syntax else { return nil }
        visiting.append(canonical)
        defer { visiting.removeLast() }
        return mergeIncludes(root, directory: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                             diagnostics: &diagnostics, visiting: &visiting)
    }

    /// Replaces `include:` with the included files' sections: lists are appended after the
    /// including file's items, mappings are merged (the compiler reports duplicate names).
    static func mergeIncludes(_ root: Syntax, directory: String?, diagnostics: inout [Diagnostic], visiting: inout [String]) -> Syntax {
        guard case .map(var entries, let pos) = root, let index = entries.firstIndex(where: { $0.key == "include" }) else { return root }
        let include = entries.remove(at: index)
        let items: [Syntax]
        switch include.value {
        case .list(let l, _): items = l
        case .scalar: items = [include.value]
        case .map:
            diagnostics.append(Diagnostic(file: pos.file, line: include.value.position.line, column: include.value.position.column,
                                          severity: .error, message: "include must be a file name or a list of file names", rule: "include"))
            return .map(entries, pos)
        }
        for item in items {
            let p = item.position
            guard let relative = item.scalar else {
                diagnostics.append(Diagnostic(file: p.file, line: p.line, column: p.column, severity: .error, message: "include entries must be file names", rule: "include"))
                continue
            }
            guard let directory else {
                diagnostics.append(Diagnostic(file: p.file, line: p.line, column: p.column, severity: .error,
                                              message: "include is not available here (no base directory); inline '\(relative)'", rule: "include"))
                continue
            }
            let full = relative.hasPrefix("/") ? relative : directory + "/" + relative
            let canonical = URL(fileURLWithPath: full).standardizedFileURL.path
            if visiting.contains(canonical) {
                diagnostics.append(Diagnostic(file: p.file, line: p.line, column: p.column, severity: .error,
                                              message: "include cycle: '\(relative)' is already being included", rule: "include"))
                continue
            }
            var includeDiagnostics: [Diagnostic] = []
            let shown = relative.hasPrefix("/") ? relative : (p.file as NSString).deletingLastPathComponent.isEmpty ? relative : (p.file as NSString).deletingLastPathComponent + "/" + relative
            guard let included = read(path: full, shownAs: shown, diagnostics: &includeDiagnostics, visiting: &visiting) else {
                if includeDiagnostics.first?.rule == "file" {
                    diagnostics.append(Diagnostic(file: p.file, line: p.line, column: p.column, severity: .error,
                                                  message: "cannot include '\(relative)': file missing or unreadable", rule: "include"))
                } else {
                    diagnostics += includeDiagnostics
                }
                continue
            }
            diagnostics += includeDiagnostics
            guard case .map(let extra, _) = included else {
                diagnostics.append(Diagnostic(file: shown, line: 1, column: 1, severity: .error, message: "an included file must be a mapping of sections", rule: "include"))
                continue
            }
            for entry in extra {
                if let i = entries.firstIndex(where: { $0.key == entry.key }) {
                    switch (entries[i].value, entry.value) {
                    case let (.list(a, p1), .list(b, _)): entries[i].value = .list(a + b, p1)
                    case let (.map(a, p1), .map(b, _)): entries[i].value = .map(a + b, p1)
                    default:
                        diagnostics.append(Diagnostic(file: entry.keyPosition.file, line: entry.keyPosition.line, column: entry.keyPosition.column,
                                                      severity: .error, message: "section '\(entry.key)' is also set in the including file and cannot be merged", rule: "include"))
                    }
                } else {
                    entries.append(entry)
                }
            }
        }
        return .map(entries, pos)
    }
}
