import Foundation

extension WorkflowLoader {
    /// The stack a compile gets: nesting is capped by the YAML budget, and a deep condition
    /// tree recursed through the compiler must not meet a worker thread's small stack.
    static let compileStackBytes = 16 << 20

    /// Compiles workflow text on a thread of its own, not on the cooperative pool that serves
    /// requests: a large workflow's compile (bounded by the YAML budget, still up to a second)
    /// then costs one core's time, never a stalled request path.
    public static func loadOnOwnThread(text: String, name: String = "workflow.yaml", baseDirectory: String? = nil,
                                       allowedWebhookHosts: Set<String> = []) async -> Outcome {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: load(text: text, name: name, baseDirectory: baseDirectory, allowedWebhookHosts: allowedWebhookHosts))
            }
            thread.name = "ticketflow-compile"
            thread.stackSize = compileStackBytes
            thread.start()
        }
    }
}
