/// Why a command was refused. Nothing changes when a command is rejected.
public struct Rejection: Error, Hashable, Codable, Sendable, CustomStringConvertible {
    /// A stable, machine-readable code such as `transition_not_allowed`.
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) { self.code = code; self.message = message }
    public var description: String { "\(code): \(message)" }
}
