import HTTPTypes
import Foundation
import Hummingbird
import TicketflowCore

/// Browser sign-in and sign-out. The sign-in form is protected by a double-submit token (a
/// random value in a short-lived cookie and in the form; a page of another site can set
/// neither); once signed in, every form carries the session's own CSRF token.
struct SignInRoutes: Sendable {
    let access: AccessControl
    /// `Secure` on cookies: the node is told it sits behind TLS.
    let secureCookies: Bool
    typealias Context = NodeRequestContext

    static let sessionCookie = "tf_session"
    static let formCookie = "tf_form"

    func signInPage(_ request: Request, _ context: Context) async throws -> Response {
        let formToken = TokenSecret.generate()
        var response = page(error: nil, email: "", next: Self.safeNext(request.uri.queryParameters["next"].map(String.init)), formToken: formToken)
        response.headers.append(HTTPField(name: .setCookie, value: cookie(Self.formCookie, formToken, maxAge: 3600)))
        return response
    }

    func signIn(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await FormBody.read(request)
        let next = Self.safeNext(form["next"])
        guard let sent = request.cookies[Self.formCookie]?.value, let field = form["csrf"], !sent.isEmpty, sent == field else {
            return BrowserPages.render("message", Message(heading: "This form has expired", text: "Open the sign-in page again and sign in.",
                                                          link: "/login", linkText: "Sign in"), status: .forbidden)
        }
        let email = form.text("email") ?? ""
        do {
            let signedIn = try access.signIn(email: email, password: form["password"] ?? "", address: Routes.address(context))
            let home = signedIn.identity.role == .requester ? "/portal" : "/"
            return BrowserPages.redirect(next ?? home, cookies: [
                cookie(Self.sessionCookie, signedIn.cookie, maxAge: Int(AccessControl.sessionLifetime.millis / 1000)),
                cookie(Self.formCookie, "", maxAge: 0),
            ])
        } catch AccessControl.SignInError.refused {
            return page(error: "The e-mail address or the password is wrong.", email: email, next: next, formToken: sent, status: .unauthorized)
        } catch AccessControl.SignInError.throttled(let until) {
            let seconds = max(1, (until - access.clock.now()).millis / 1000)
            var response = page(error: "Too many failed attempts. Try again in \(seconds / 60 + 1) minutes.", email: email, next: next,
                                formToken: sent, status: .tooManyRequests)
            response.headers[.retryAfter] = String(seconds)
            return response
        }
    }

    func signOut(_ request: Request, _ context: Context) async throws -> Response {
        let form = try await FormBody.read(request)
        if let cookieValue = request.cookies[Self.sessionCookie]?.value {
            // Only the session's own form may end it: a cross-site post cannot sign anyone out.
            guard form["csrf"] == context.csrf, context.csrf != nil else { return Self.csrfRefused() }
            try access.signOut(cookie: cookieValue, identity: context.identity, address: Routes.address(context))
        }
        return BrowserPages.redirect("/login", cookies: [cookie(Self.sessionCookie, "", maxAge: 0)])
    }

    static func csrfRefused() -> Response {
        BrowserPages.render("message", Message(heading: "This form has expired", text: "Reload the page and try again.",
                                               link: "/portal", linkText: "Back"), status: .forbidden)
    }

    private func page(error: String?, email: String, next: String?, formToken: String, status: HTTPResponse.Status = .ok) -> Response {
        BrowserPages.render("login", LoginPage(error: error, email: email, next: next ?? "", formToken: formToken), status: status)
    }

    private func cookie(_ name: String, _ value: String, maxAge: Int) -> String {
        "\(name)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax" + (secureCookies ? "; Secure" : "")
    }

    /// Where to go after signing in: a path on this site only (never `//host` or a URL).
    static func safeNext(_ next: String?) -> String? {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"), next.count <= 200,
              next.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 }) else { return nil }
        return next
    }

    struct LoginPage {
        let title = "Sign in"
        let signedIn = false
        var error: String?
        var email: String
        var next: String
        var formToken: String
    }
}

/// A page that says one thing and links on.
struct Message {
    let title = "Ticketflow"
    let signedIn = false
    var heading: String
    var text: String
    var link: String
    var linkText: String
}
