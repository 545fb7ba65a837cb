import Hummingbird
import TicketflowAPI
import TicketflowCore
import TicketflowStorage

/// The workflow: read it, replace it.
extension Routes {
    func readWorkflow(_ request: Request, _ context: Context) async throws -> Response {
        let wf = await node.workflow
        return JSONResponse.make(WorkflowView(name: wf.name, version: wf.version, label: wf.label, source: await node.workflowText,
                                              lines: wf.lines.map { LineView(name: $0.name, queue: $0.queue) }, statuses: wf.statuses))
    }

    func listMacros(_ request: Request, _ context: Context) async throws -> Response {
        let macros = await node.workflow.macros
        return JSONResponse.make(MacroList(macros: macros.keys.sorted().map {
            MacroList.Entry(name: $0, placeholders: macros[$0]!.placeholders(macros: macros))
        }))
    }

    func replaceWorkflow(_ request: Request, _ context: Context) async throws -> Response {
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: maxBody) } catch {
            throw APIError(.contentTooLarge, "body_too_large", "the workflow is larger than \(maxBody) bytes")
        }
        let text = String(decoding: buffer.readableBytesView, as: UTF8.self)
        let (wf, warnings) = try await node.replaceWorkflow(source: text)
        if let access {
            try access.store.log(SecurityEntry(at: access.clock.now(), actor: context.identity?.account ?? "-",
                                               action: .workflowReplaced, subject: wf.label, address: Self.address(context)))
        }
        return JSONResponse.make(WorkflowReplaced(label: wf.label, warnings: warnings.map(\.description)))
    }
}
