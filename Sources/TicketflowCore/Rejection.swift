/// Why a command was refused. Nothing changes when a command is rejected.
public struct Rejection: Error, Hashable, Codable, Sendable, CustomStringConvertible {
    /// A stable, machine-readable code; its HTTP status is decided in one place (the server's
    /// `APIError.from`).
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public var description: String { "\(code.rawValue): \(message)" }

    /// Every reason the engine refuses a command. The raw values are part of the API
    /// (`error.code`) and of workflow tests (`expect: {rejected: CODE}`): never rename one.
    public enum Code: String, Hashable, Codable, Sendable, CaseIterable {
        case duplicateTicket = "duplicate_ticket"
        case emptyUpdate = "empty_update"
        case internalError = "internal"
        case invalidField = "invalid_field"
        case noLine = "no_line"
        case noLines = "no_lines"
        case ticketSolved = "ticket_solved"
        case transitionNotAllowed = "transition_not_allowed"
        case unknownAgent = "unknown_agent"
        case unknownField = "unknown_field"
        case unknownLine = "unknown_line"
        case unknownMacro = "unknown_macro"
        case unknownQueue = "unknown_queue"
        case unknownStatus = "unknown_status"
        case unknownTicket = "unknown_ticket"

        /// How a refusal relates to the request, which decides its HTTP status (in the
        /// server's `APIError.from`, the one place that maps them).
        public enum Kind: Sendable {
            /// Well-formed, but at odds with the state: the ticket's (a transition the workflow
            /// forbids, no line above), or the active workflow's and agents' (a name they do not
            /// have). HTTP 409: the same request can succeed once the state changes.
            case conflict
            /// The thing the request's path names does not exist. HTTP 404.
            case notFound
            /// The request itself is wrong whatever the state. HTTP 422.
            case invalid
        }

        public var kind: Kind {
            switch self {
            case .transitionNotAllowed, .noLine, .ticketSolved, .duplicateTicket,
                 .unknownLine, .unknownQueue, .unknownStatus, .unknownAgent:
                return .conflict
            case .unknownMacro, .unknownTicket:
                return .notFound
            case .emptyUpdate, .internalError, .invalidField, .noLines, .unknownField:
                return .invalid
            }
        }
    }
}
