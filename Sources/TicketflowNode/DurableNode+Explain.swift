import TicketflowCore
import TicketflowRuntime
import TicketflowStorage
import TicketflowWorkflow

extension DurableNode {
    /// Most older workflow versions kept compiled for explanations.
    static let explainedWorkflowLimit = 16

    /// "Why" for a ticket (nil when there is no such ticket): its journal explained with the
    /// workflow versions its events name — the running one as it is, older ones compiled from
    /// their recorded source off the request path and kept (the last 16 used).
    public func explanation(of id: String, rule: String?) async throws -> TicketExplanation? {
        guard let events = try await events(of: id) else { return nil }
        var workflows: [String: Workflow] = [workflow.label: workflow]
        let missing = Set(events.map(\.workflowVersion)).filter { workflows[$0] == nil }
        if !missing.isEmpty {
            let activations = try workflowActivations()
            for label in missing.sorted() {
                if let kept = explainedWorkflows[label] { workflows[label] = kept; continue }
                // The latest source recorded under the label (a label reused for a changed file: its last form).
                guard let activation = activations.last(where: { $0.label == label }) else { continue }
                guard let compiled = await WorkflowLoader.loadOnOwnThread(text: activation.source, name: "\(label).yaml", baseDirectory: activation.origin.directory,
                                                                          allowedWebhookHosts: allowedWebhookHosts).workflow else { continue }
                if explainedWorkflows.count >= Self.explainedWorkflowLimit { explainedWorkflows.removeAll() }
                explainedWorkflows[label] = compiled
                workflows[label] = compiled
            }
        }
        return TicketExplainer.explain(events, workflows: workflows, rule: rule)
    }
}
