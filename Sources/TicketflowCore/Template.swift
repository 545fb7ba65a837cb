import Foundation

/// A text with `{{ticket.requester.name}}` placeholders.
///
/// Placeholders are parsed once, when the workflow is loaded, so that an unknown one is
/// a check-time error rather than an empty string in a customer's e-mail.
public struct Template: Hashable, Codable, Sendable {
    public enum Part: Hashable, Codable, Sendable {
        case text(String)
        case placeholder(String)
    }

    public var source: String
    public var parts: [Part]

    /// Parses `source`; returns the problems (unclosed braces, unknown placeholders) alongside.
    public static func parse(_ source: String) -> (Template, [String]) {
        var parts: [Part] = []
        var problems: [String] = []
        var rest = Substring(source)
        while let open = rest.firstRange(of: "{{") {
            if open.lowerBound > rest.startIndex { parts.append(.text(String(rest[..<open.lowerBound]))) }
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.firstRange(of: "}}") else {
                problems.append("unclosed placeholder '{{' in template")
                parts.append(.text(String(rest[open.lowerBound...])))
                rest = ""
                break
            }
            let name = afterOpen[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if !Template.isKnownPlaceholder(name) {
                problems.append("unknown placeholder '{{\(name)}}'; expected ticket.<field> such as ticket.subject, ticket.requester.name, ticket.fields.<name>")
            }
            parts.append(.placeholder(name))
            rest = afterOpen[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        return (Template(source: source, parts: parts), problems)
    }

    public init(source: String, parts: [Part]) { self.source = source; self.parts = parts }

    /// A template without placeholders, for tests and generated comments.
    public init(literal: String) { self.source = literal; self.parts = [.text(literal)] }

    public static func isKnownPlaceholder(_ name: String) -> Bool {
        guard name.hasPrefix("ticket.") else { return false }
        let field = String(name.dropFirst(7))
        return !field.hasPrefix("comment.") && Ticket.isKnownField(field)
    }

    /// What a text a requester receives may show: what the requester view shows of a ticket
    /// (no tags, custom fields, assignee id, line, queue, skills or organization).
    public static let requesterPlaceholders: Set<String> = [
        "ticket.id", "ticket.subject", "ticket.description", "ticket.status", "ticket.priority",
        "ticket.requester.name", "ticket.requester.email",
    ]

    /// The placeholders a requester may not see, in the order they appear (unknown ones are
    /// errors of their own).
    public var privatePlaceholders: [String] {
        parts.compactMap { part in
            if case .placeholder(let name) = part, Self.isKnownPlaceholder(name), !Self.requesterPlaceholders.contains(name) { return name }
            return nil
        }
    }

    /// Renders for a requester: a placeholder outside `requesterPlaceholders` is left empty.
    /// (The workflow check refuses such templates where a requester reads them; this keeps a
    /// text addressed to a requester safe whatever the check let through.)
    public func renderForRequester(_ ticket: Ticket, workflow: Workflow) -> String {
        parts.map { part in
            switch part {
            case .text(let t): return t
            case .placeholder(let name):
                guard Self.requesterPlaceholders.contains(name) else { return "" }
                return ticket.values(of: String(name.dropFirst(7)), workflow: workflow).joined(separator: ", ")
            }
        }.joined()
    }

    public func render(_ ticket: Ticket, workflow: Workflow) -> String {
        parts.map { part in
            switch part {
            case .text(let t): return t
            case .placeholder(let name):
                return ticket.values(of: String(name.dropFirst(7)), workflow: workflow).joined(separator: ", ")
            }
        }.joined()
    }
}

