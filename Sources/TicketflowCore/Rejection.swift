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

        /// Whether the command conflicts with the ticket's state (HTTP 409) rather than being
        /// invalid in itself (422).
        public var isConflict: Bool {
            switch self {
            case .transitionNotAllowed, .noLine, .ticketSolved: return true
            default: return false
            }
        }
    }
}
