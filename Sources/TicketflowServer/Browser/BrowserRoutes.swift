import HTTPTypes
import Hummingbird
import TicketflowCore

/// The routes browsers use: sign-in, the requester portal, the dashboard and their assets.
/// Declared as route shapes like the API's, so the same authorization middleware decides them.
struct BrowserRoutes: Sendable {
    let signIn: SignInRoutes
    let portal: PortalRoutes
    typealias Context = NodeRequestContext

    static let shapes: [RouteShape] = [
        RouteShape(.get, "/", .here, .viewDashboard),
        RouteShape(.get, "login", .here, .signIn), RouteShape(.post, "login", .here, .signIn),
        RouteShape(.post, "logout", .here, .signOut),
        RouteShape(.get, "portal", .here, .portal), RouteShape(.get, "portal/new", .here, .portal),
        RouteShape(.post, "portal/tickets", .here, .portalWrite),
        RouteShape(.get, "portal/tickets/:id", .here, .portal),
        RouteShape(.post, "portal/tickets/:id/reply", .here, .portalWrite), RouteShape(.post, "portal/tickets/:id/reopen", .here, .portalWrite),
        RouteShape(.post, "portal/tickets/:id/rate", .here, .portalWrite),
        RouteShape(.get, "assets/site.css", .here, .assets), RouteShape(.get, "assets/dashboard.js", .here, .assets),
    ]

    var handlers: [Routes.Handler] {
        let page = PortalRoutes.answeringWithPages
        return [
            dashboard, signIn.signInPage, signIn.signIn, signIn.signOut,
            page(portal.home), page(portal.newTicketPage), page(portal.create), page(portal.ticketPage),
            page(portal.reply), page(portal.reopen), page(portal.rate),
            { _, _ in BrowserPages.response(BrowserPages.css, type: "text/css; charset=utf-8") },
            { _, _ in BrowserPages.response(Dashboard.script, type: "text/javascript; charset=utf-8") },
        ]
    }

    func register(on router: Router<Context>) {
        precondition(Self.shapes.count == handlers.count, "one handler per browser route")
        for (shape, handler) in zip(Self.shapes, handlers) { router.on(RouterPath(shape.path), method: shape.method, use: handler) }
    }

    func dashboard(_ request: Request, _ context: Context) async throws -> Response {
        BrowserPages.render("dashboard", DashboardPage(signedIn: context.csrf != nil, name: context.identity?.name ?? "", csrf: context.csrf ?? ""))
    }

    struct DashboardPage {
        let title = "Ticketflow"
        var signedIn: Bool
        var name: String
        var csrf: String
    }
}
