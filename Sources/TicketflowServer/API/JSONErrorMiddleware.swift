import Hummingbird
import TicketflowAPI

/// Turns what the router throws outside our handlers into the API's JSON error form, so
/// every error a client sees has a code: a path the API has, asked with a method it does not
/// answer, is `405 method_not_allowed` with an `Allow` header; an unknown path is `404 unknown_route`.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = NodeRequestContext
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do { return try await next(request, context) } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes.methods(for: request.uri.path)
            guard !allowed.isEmpty else { return APIError.from(error).response() }
            var e = APIError(.methodNotAllowed, "method_not_allowed",
                             "\(request.uri.path) answers \(allowed.map(\.rawValue).joined(separator: ", ")), not \(request.method.rawValue)")
            e.allow = allowed
            return e.response()
        } catch {
            return APIError.from(error).response()
        }
    }
}
