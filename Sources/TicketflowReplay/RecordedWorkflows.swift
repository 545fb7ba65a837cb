import TicketflowCore
import TicketflowStorage
import TicketflowWorkflow

/// The workflow versions a data directory recorded, compiled, by label: what `why` and the
/// what-if replay use to see the rules that decided each event.
public enum RecordedWorkflows {
    /// Each label's latest recorded source, compiled; a version that no longer compiles (a
    /// stricter checker, an included file gone) is left out, and explanations say its rules are
    /// not shown.
    public static func load(from store: Store) throws -> [String: Workflow] {
        var latest: [String: WorkflowActivation] = [:]
        for activation in try store.workflowActivations() { latest[activation.label] = activation }
        var workflows: [String: Workflow] = [:]
        for (label, activation) in latest {
            if let workflow = compile(activation) { workflows[label] = workflow }
        }
        return workflows
    }

    /// A recorded workflow compiled again. A file's `include:` is resolved beside the file as
    /// it was named when the node started (relative to this directory), so the included files
    /// are read as they are now.
    public static func compile(_ activation: WorkflowActivation) -> Workflow? {
        WorkflowLoader.load(text: activation.source, name: "\(activation.label).yaml", baseDirectory: activation.origin.directory).workflow
    }
}
