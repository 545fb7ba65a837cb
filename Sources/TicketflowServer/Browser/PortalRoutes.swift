import HTTPTypes
import Foundation
import Hummingbird
import TicketflowAPI
import TicketflowCore
import TicketflowNode
import TicketflowStorage

/// The requester portal at `/portal`: server-rendered pages that work without JavaScript.
/// Everything it shows of a ticket comes from `RequesterTicketView`; every form carries the
/// session's CSRF token; a ticket that is not the requester's answers as one that does not
/// exist. A rating is stored on the ticket as changes of its `satisfaction` and
/// `satisfaction_comment` fields by the requester: events in its journal, visible to agents,
/// and conditions for triggers like any field.
struct PortalRoutes: Sendable {
    let api: Routes
    typealias Context = NodeRequestContext
    private var node: DurableNode { api.node }

    static let ratingField = "satisfaction"
    static let ratingCommentField = "satisfaction_comment"

    // MARK: Pages

    func home(_ request: Request, _ context: Context) async throws -> Response {
        let me = try identity(context)
        var filter = TicketFilter()
        filter.requesterEmail = me.email
        filter.limit = 200
        let rows = try await node.tickets(matching: filter)
        let tickets = rows.reversed().map { TicketRow(id: $0.ticket.id, subject: $0.ticket.subject, status: $0.ticket.status,
                                                      updated: Self.shown($0.ticket.updatedAt)) }
        return BrowserPages.render("portal", Home(name: me.name, csrf: context.csrf ?? "", hasTickets: !tickets.isEmpty, tickets: tickets))
    }

    func newTicketPage(_ request: Request, _ context: Context) async throws -> Response {
        let me = try identity(context)
        return BrowserPages.render("portal-new", NewTicketPage(name: me.name, csrf: context.csrf ?? "", error: nil, portal: await node.workflow.portal))
    }

    func ticketPage(_ request: Request, _ context: Context) async throws -> Response {
        let me = try identity(context)
        let ticket = try await ownTicket(context)
        return try await render(ticket, me, context, error: nil)
    }

    // MARK: Forms

    func create(_ request: Request, _ context: Context) async throws -> Response {
        let me = try identity(context)
        let form = try await checkedForm(request, context)
        guard let subject = form.text("subject"), subject.count <= RequestLimits.subject else {
            return BrowserPages.render("portal-new", NewTicketPage(name: me.name, csrf: context.csrf ?? "",
                                                                   error: "A subject of at most \(RequestLimits.subject) characters is needed.",
                                                                   portal: await node.workflow.portal),
                                       status: .badRequest)
        }
        let description = form["description"] ?? ""
        guard description.count <= RequestLimits.text else { throw APIError(.badRequest, "invalid_field", "the description is too long") }
        let portal = await node.workflow.portal
        let priority = form["priority"].flatMap(Priority.init(rawValue:)) ?? portal.defaultPriority
        var fields: [String: String] = [:]
        for name in portal.publicFields {
            if let value = form.text("field." + name) {
                guard value.count <= 1000 else { throw APIError(.badRequest, "invalid_field", "'\(name)' is longer than 1000 characters") }
                fields[name] = value
            }
        }
        try await api.checkRequesterInput(context, fields: fields, priority: priority)
        let draft = NewTicket(id: "", subject: subject, description: description, requester: Requester(name: me.name, email: me.email),
                              channel: .web, priority: priority, fields: fields)
        let (ticket, _) = try await node.create(draft, idempotencyKey: nil)
        return BrowserPages.redirect("/portal/tickets/\(ticket.id)")
    }

    func reply(_ request: Request, _ context: Context) async throws -> Response {
        let me = try identity(context)
        let form = try await checkedForm(request, context)
        let ticket = try await ownTicket(context)
        guard let body = form.text("body"), body.count <= RequestLimits.text else {
            return try await render(ticket, me, context, error: "Write a reply first.", status: .badRequest)
        }
        _ = try await node.execute(.comment(ticket: ticket.id, author: .requester, authorName: me.name, isPublic: true, body: body))
        return BrowserPages.redirect("/portal/tickets/\(ticket.id)")
    }

    func reopen(_ request: Request, _ context: Context) async throws -> Response {
        let me = try identity(context)
        _ = try await checkedForm(request, context)
        let ticket = try await ownTicket(context)
        guard let target = await reopenTarget(ticket) else {
            return try await render(ticket, me, context, error: "This ticket cannot be reopened.", status: .conflict)
        }
        _ = try await node.execute(.update(ticket: ticket.id, changes: TicketChanges(status: target), by: Cause(.requester, me.email)))
        return BrowserPages.redirect("/portal/tickets/\(ticket.id)")
    }

    func rate(_ request: Request, _ context: Context) async throws -> Response {
        let me = try identity(context)
        let form = try await checkedForm(request, context)
        let ticket = try await ownTicket(context)
        guard await canRate(ticket) else { return try await render(ticket, me, context, error: "Only a solved ticket can be rated, once.", status: .conflict) }
        guard let rating = form["rating"], rating == "good" || rating == "bad" else {
            return try await render(ticket, me, context, error: "Choose good or bad.", status: .badRequest)
        }
        var fields = [Self.ratingField: rating]
        if let comment = form.text("comment") {
            guard comment.count <= 2000 else { return try await render(ticket, me, context, error: "The comment is too long.", status: .badRequest) }
            fields[Self.ratingCommentField] = comment
        }
        _ = try await node.execute(.update(ticket: ticket.id, changes: TicketChanges(fields: fields), by: Cause(.requester, me.email)))
        return BrowserPages.redirect("/portal/tickets/\(ticket.id)")
    }

    // MARK: Helpers

    /// Turns refusals into pages: the same status as the API, a sentence instead of JSON.
    static func answeringWithPages(_ body: @escaping Routes.Handler) -> Routes.Handler {
        { request, context in
            do { return try await body(request, context) } catch {
                let e = APIError.from(error)
                let text = e.status == .notFound ? "There is no such ticket." : e.message
                return BrowserPages.render("message", Message(heading: "That did not work", text: text, link: "/portal", linkText: "Back to my tickets"),
                                           status: e.status)
            }
        }
    }

    private func identity(_ context: Context) throws -> Identity {
        guard let me = context.identity else { throw APIError(.unauthorized, "unauthenticated", "sign in first") }
        return me
    }

    /// The form, with its CSRF token checked when the request came with a browser session (a
    /// bearer token is never sent by a browser on its own, so it needs none).
    private func checkedForm(_ request: Request, _ context: Context) async throws -> FormBody {
        let form = try await FormBody.read(request)
        if let expected = context.csrf, form["csrf"] != expected {
            throw APIError(.forbidden, "csrf_failed", "This form has expired or did not come from this site; reload the page and try again.")
        }
        return form
    }

    private func ownTicket(_ context: Context) async throws -> Ticket {
        let id = try Routes.parameter(context, "id")
        try await api.checkOwner(context, id)
        guard let ticket = try await node.ticket(id) else { throw NodeError.notFound(id) }
        return ticket
    }

    private func reopenTarget(_ ticket: Ticket) async -> String? {
        let workflow = await node.workflow
        guard workflow.solvedStatuses.contains(ticket.status) else { return nil }
        return ["open", "new"].first { workflow.statuses.contains($0) && workflow.allows(from: ticket.status, to: $0) }
    }

    private func canRate(_ ticket: Ticket) async -> Bool {
        await node.workflow.solvedStatuses.contains(ticket.status) && ticket.fields[Self.ratingField] == nil
    }

    private func render(_ ticket: Ticket, _ me: Identity, _ context: Context, error: String?,
                        status: HTTPResponse.Status = .ok) async throws -> Response {
        let portal = await node.workflow.portal
        let view = RequesterTicketView(ticket, assigneeName: await api.assigneeName(ticket), publicFields: portal.publicFields)
        let page = TicketPage(name: me.name, csrf: context.csrf ?? "", ticket: view,
                              fields: view.fields.sorted { $0.key < $1.key }.map { FieldRow(name: $0.key, value: $0.value) },
                              comments: (view.comments ?? []).map { CommentRow(from: $0.from.rawValue, authorName: $0.authorName,
                                                                               at: Self.shown($0.at), body: $0.body) },
                              canReopen: await reopenTarget(ticket) != nil, canRate: await canRate(ticket),
                              rating: ticket.fields[Self.ratingField], error: error)
        return BrowserPages.render("portal-ticket", page, status: status)
    }

    static func shown(_ instant: Instant) -> String { shown(instant.iso8601) }
    /// `2027-01-04T09:00:00Z` as `2027-01-04 09:00 UTC`.
    static func shown(_ iso: String) -> String {
        guard iso.count >= 16 else { return iso }
        return String(iso.prefix(10)) + " " + String(iso.dropFirst(11).prefix(5)) + " UTC"
    }

    struct TicketRow { var id, subject, status, updated: String }
    struct FieldRow { var name, value: String }
    struct FieldInput { var name: String }
    struct CommentRow { var from, authorName, at, body: String }

    struct Home {
        let title = "My tickets", signedIn = true
        var name, csrf: String
        var hasTickets: Bool
        var tickets: [TicketRow]
    }

    struct NewTicketPage {
        let title = "Open a ticket", signedIn = true
        var name, csrf: String
        var error: String?
        var priorities: [PriorityChoice]
        var fields: [FieldInput]
        init(name: String, csrf: String, error: String?, portal: PortalSettings) {
            self.name = name; self.csrf = csrf; self.error = error
            priorities = portal.priorities.map { PriorityChoice(value: $0.rawValue, selected: $0 == portal.defaultPriority) }
            fields = portal.publicFields.map(FieldInput.init)
        }
    }

    struct PriorityChoice { var value: String; var selected: Bool }

    struct TicketPage {
        let title = "Ticket", signedIn = true
        var name, csrf: String
        var ticket: RequesterTicketView
        var fields: [FieldRow]
        var comments: [CommentRow]
        var canReopen, canRate: Bool
        var rating: String?
        var error: String?
    }
}
