import Foundation
import HTTPTypes
import Hummingbird
import TicketflowAPI
import TicketflowCore

/// The one place where the authorization policy is applied. Every request is matched against
/// the route table; one that matches no route never reaches a handler (404, or 405 with
/// `Allow`), one that matches is decided by `AccessPolicy` on its route's operation: 401
/// without an identity, 403 for a role the matrix does not admit, and otherwise the handler
/// runs with the reach the policy granted in its context.
struct AuthorizationMiddleware: RouterMiddleware {
    typealias Context = NodeRequestContext
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    let routes: RouteTable
    /// `/metrics` without a token, when the node's configuration says so.
    var metricsOpen = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let (shape, _) = routes.route(request.method, request.uri.path) else { throw HTTPError(.notFound) }
        var context = context
        if metricsOpen && shape.operation == .readMetrics { return try await next(request, context) }
        let operation = shape.operation
        let isPage = operation == .viewDashboard || operation == .portal
        switch AccessPolicy.decide(context.identity, operation) {
        case .allow(let reach):
            context.reach = reach
            // A browser session's writes to the API carry its CSRF token in a header (the
            // portal's forms carry it in the form, checked by their handlers).
            if let csrf = context.csrf, ![.get, .head].contains(request.method), !operation.isBrowserForm,
               request.headers[Self.csrfHeader] != csrf {
                return APIError(.forbidden, "csrf_failed", "a request made with a browser session needs its X-CSRF-Token").response()
            }
            return try await next(request, context)
        case .unauthenticated where isPage && request.method == .get:
            return BrowserPages.redirect("/login?next=" + (request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["/"])) ?? "/"))
        case .forbidden where isPage && request.method == .get:
            // Each role has its own home: requesters the portal, supervisors and admins the dashboard.
            let home: AccessOperation = operation == .portal ? .viewDashboard : .portal
            if case .allow = AccessPolicy.decide(context.identity, home) { return BrowserPages.redirect(home == .portal ? "/portal" : "/") }
            return BrowserPages.render("message", Message(heading: "Nothing here for your account",
                                                          text: "This page is not open to a \(context.identity?.role.rawValue ?? "visitor"); use the API with your token.",
                                                          link: "/login", linkText: "Sign in as someone else"), status: .forbidden)
        case .unauthenticated:
            var response = APIError(.unauthorized, "unauthenticated", "this needs a token: send 'Authorization: Bearer <token>'").response()
            response.headers[.wwwAuthenticate] = #"Bearer realm="ticketflow""#
            return response
        case .forbidden:
            let role = context.identity?.role.rawValue ?? "nobody"
            return APIError(.forbidden, "forbidden", "a \(role) may not \(shape.operation.rawValue); see docs/security.md").response()
        }
    }
}
