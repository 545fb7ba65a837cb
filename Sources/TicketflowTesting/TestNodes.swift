import Foundation
import TicketflowCore
import TicketflowNode
import TicketflowRuntime
import TicketflowStorage
import TicketflowWorkflow

/// Nodes on temporary data directories, for tests that need one.
public enum TestNodes {
    public static let workflow = """
    workflow: test
    version: 1
    statuses: [new, open, pending, solved, closed]
    transitions: {new: [open, pending, solved], open: [pending, solved], pending: [open, solved], solved: [open, closed], closed: []}
    lines: [{name: L1, queue: first-line}, {name: L2, queue: second-line}]
    sla:
      - {name: p, calendar: 24x7, targets: {first_reply: 1h}}
    macros:
      - {name: ask, then: [{comment: {public: true, body: "Please send logs"}}, {set: {status: pending}}]}
    """

    /// A started node on a fresh temporary data directory; the caller removes the directory.
    public static func open(source: String = workflow, clock: any TicketflowRuntime.Clock = VirtualClock(start: Instant(iso8601: "2027-01-04T09:00:00Z")!),
                            observer: (any NodeObserver)? = nil) async throws -> (DurableNode, String) {
        guard let wf = WorkflowLoader.load(text: source).workflow else { throw Failure(description: "test workflow has errors") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-node-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let node = try DurableNode(store: try Store(path: dir + "/ticketflow.sqlite", durability: .normal),
                                   defaultWorkflow: (wf, source, .file("test.yaml")), clock: clock, observer: observer)
        _ = try await node.start()
        return (node, dir)
    }

    public struct Failure: Error, CustomStringConvertible { public var description: String }
}
