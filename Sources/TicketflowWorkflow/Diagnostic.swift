/// A problem found in a workflow file, printed as `file:line:column: error: message [rule]`.
public struct Diagnostic: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    public var file: String
    public var line, column: Int
    public var severity: Severity
    /// What is wrong, and the check's short, stable name (its code, for documentation and filtering).
    public var message, rule: String

    public init(file: String, line: Int, column: Int, severity: Severity, message: String, rule: String) {
        self.file = file; self.line = line; self.column = column
        self.severity = severity; self.message = message; self.rule = rule
    }

    public var description: String { "\(file):\(line):\(column): \(severity.rawValue): \(message) [\(rule)]" }
}

/// Where a node sits in a source file.
public struct SourcePosition: Hashable, Sendable {
    public var file: String
    public var line, column: Int
    public init(file: String, line: Int, column: Int) { self.file = file; self.line = line; self.column = column }
}
