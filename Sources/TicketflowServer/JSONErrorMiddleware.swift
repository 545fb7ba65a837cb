import Hummingbird

/// Turns what the router throws outside our handlers — no route for the method and path,
/// chiefly — into the API's JSON error form, so every error a client sees has a code.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do { return try await next(request, context) } catch { return APIError.from(error).response() }
    }
}
