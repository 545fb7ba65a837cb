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
    let routes: RouteTable
    /// `/metrics` without a token, when the node's configuration says so.
    var metricsOpen = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let (shape, _) = routes.route(request.method, request.uri.path) else { throw HTTPError(.notFound) }
        var context = context
        if metricsOpen && shape.operation == .readMetrics { return try await next(request, context) }
        switch AccessPolicy.decide(context.identity, shape.operation) {
        case .allow(let reach):
            context.reach = reach
            return try await next(request, context)
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
