import TicketflowCore
import TicketflowWorkflow

/// Why a request to the node failed. The HTTP status of each is decided in one place, the
/// server's `APIError.from`.
public enum NodeError: Error, Sendable {
    case rejected(Rejection)
    case notFound(String)
    /// A request names an agent (in its path) that the node does not know.
    case agentNotFound(String)
    case invalidWorkflow([Diagnostic])
    /// The node cannot accept work: a commit failed, it is shutting down, storage could not be
    /// read, or its queue of work is full. The client may retry.
    case unavailable(String)
    /// An idempotency key came back with another request: another command on the same
    /// ticket, or another create (`ticket` is then the one the first create made).
    case idempotencyKeyReused(ticket: String, key: String)
}

/// What a node reports as it works, for metrics. Implementations must be cheap and thread-safe.
public protocol NodeObserver: Sendable {
    func accepted(_ events: [Event])
    func rejected(_ code: String)
    func committed(batchEvents: Int, seconds: Double)
}
