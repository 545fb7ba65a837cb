import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import TicketflowAPI
import TicketflowCore

/// Finds who makes each request and puts it in the context; deciding what they may do is the
/// policy's job (`Routes.handler` with `AccessPolicy`). A request without credentials goes on
/// without an identity (open routes answer it, the others say 401); one with a bad token is
/// refused here, whatever it asks.
///
/// A request forwarded by a peer node carries the identity the first node found, in
/// `X-Ticketflow-Identity`; that header is believed only on the cluster link and ignored in
/// any client's request. (The link itself is authenticated by the replication issue's CURVE.)
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = NodeRequestContext
    let access: AccessControl

    public static let identityHeader = HTTPField.Name("X-Ticketflow-Identity")!
    /// Carries what the first node of a cluster chose at random for a change to users and
    /// tokens (a new user's id, a token's id and secret) to the others; like the identity, it
    /// is believed only from the cluster link.
    public static let chosenHeader = HTTPField.Name("X-Ticketflow-Chosen")!

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if context.forwardedBy != nil {
            if let text = request.headers[Self.identityHeader] {
                do { context.identity = try JSONDecoder().decode(Identity.self, from: Data(text.utf8)) } catch {
                    return APIError(.badRequest, "invalid_identity", "the forwarded identity is malformed").response()
                }
            }
            return try await next(request, context)
        }
        // A client's own X-Ticketflow-Identity is never read (only the cluster link's is) and
        // never forwarded (the gateway writes the header from the context).
        guard request.headers[.authorization] != nil else {
            // A browser: its session cookie, if it has a live one. An unknown or expired cookie
            // is no identity (pages then send the browser to sign in).
            if let cookie = request.cookies[SignInRoutes.sessionCookie]?.value, !cookie.isEmpty,
               let (identity, csrf) = try access.session(cookie: cookie) {
                context.identity = identity
                context.csrf = csrf
                if let wait = access.overRate(identity) { return Self.tooMany(wait) }
            }
            return try await next(request, context)
        }
        guard let bearer = request.headers.bearer else {
            return unauthorized("Authorization must be 'Bearer <token>'")
        }
        do {
            context.identity = try access.authenticate(token: bearer.token)
        } catch AccessControl.AuthenticationError.invalidToken {
            return unauthorized("the token is unknown, expired or revoked")
        }
        if let identity = context.identity, let wait = access.overRate(identity) { return Self.tooMany(wait) }
        return try await next(request, context)
    }

    /// 429 with the whole seconds until a request would be admitted.
    static func tooMany(_ wait: TimeSpan) -> Response {
        var e = APIError(.tooManyRequests, "rate_limited", "too many requests for this account; retry after the time in Retry-After")
        e.retryAfter = Int(max(1, (wait.millis + 999) / 1000))
        return e.response()
    }

    private func unauthorized(_ message: String) -> Response {
        var response = APIError(.unauthorized, "invalid_token", message).response()
        response.headers[.wwwAuthenticate] = #"Bearer realm="ticketflow""#
        return response
    }

    /// The header a forwarding node adds for the owner: the identity it found.
    public static func encode(_ identity: Identity) -> String {
        // Identity holds strings, enums and a set of enums: JSONEncoder fails only on
        // non-finite floats, so there is no error to lose here.
        (try? String(decoding: JSONEncoder().encode(identity), as: UTF8.self)) ?? ""
    }
}
