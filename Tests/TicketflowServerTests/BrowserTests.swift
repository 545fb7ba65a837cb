import Foundation
import HTTPTypes
import Hummingbird
import TicketflowAPI
import TicketflowCore
import TicketflowServer
import TicketflowTesting
import Testing

/// Sign-in, sessions, CSRF and the portal's forms at the HTTP level, in process. (The pages
/// themselves are also driven in headless Chromium by the end-to-end browser test.)
@Suite(.timeLimit(.minutes(2))) struct BrowserTests {
    /// A browser: no bearer token, a cookie jar.
    struct Browser {
        var api: InProcessApp.Client
        var cookies: [String: String] = [:]

        init(_ api: InProcessApp.Client) { self.api = api.with(token: nil) }

        mutating func send(_ method: HTTPRequest.Method, _ path: String, form: [String: String]? = nil,
                           headers: HTTPFields = [:]) async throws -> InProcessApp.Client.Reply {
            var fields = headers
            if !cookies.isEmpty { fields[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
            var body: String?
            if let form {
                fields[.contentType] = "application/x-www-form-urlencoded"
                body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
            }
            let r = try await api.http.execute(uri: path, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) })
            for header in r.headers[values: .setCookie] {
                let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                let (name, value) = (String(pair[0]), pair.count > 1 ? String(pair[1]) : "")
                if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
            }
            return .init(status: r.status, headers: r.headers, body: r.body)
        }

        /// The value of a hidden `csrf` field on a page.
        static func csrf(_ page: String) -> String? {
            guard let r = page.range(of: #"name="csrf" value="([^"]+)""#, options: .regularExpression) else { return nil }
            return String(page[r].split(separator: "\"")[3])
        }

        mutating func signIn(_ email: String, _ password: String) async throws -> InProcessApp.Client.Reply {
            let page = try await send(.get, "/login")
            return try await send(.post, "/login", form: ["csrf": Self.csrf(page.text) ?? "", "email": email, "password": password, "next": ""])
        }
    }

    static let password = "correct horse battery"

    static func requester(_ api: InProcessApp.Client, email: String = "rita@example.com") async throws {
        let made = try await api.send(.post, "/api/v1/users", NewUserRequest(name: "Rita <b>", email: email, role: .requester, password: password))
        try #require(made.status == .created, "\(made.text)")
    }

    @Test func aRequesterSignsInOpensRepliesAndSignsOut() async throws {
        try await InProcessApp.run { api in
            try await Self.requester(api)
            var browser = Browser(api)
            // Pages need a session: the browser is sent to sign in, and back afterwards.
            let away = try await browser.send(.get, "/portal")
            #expect(away.status == .seeOther && away.headers[.location] == "/login?next=/portal")
            let login = try await browser.send(.get, "/login")
            #expect(login.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(login.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(login.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            // A wrong password, then the right one.
            #expect(try await browser.signIn("rita@example.com", "wrong password!").status == .unauthorized)
            let signedIn = try await browser.signIn("rita@example.com", Self.password)
            #expect(signedIn.status == .seeOther && signedIn.headers[.location] == "/portal")
            let cookie = try #require(signedIn.headers[values: .setCookie].first { $0.hasPrefix("tf_session=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"))
            // Her name is escaped where it is shown.
            let home = try await browser.send(.get, "/portal")
            #expect(home.status == .ok && home.text.contains("Rita &lt;b&gt;") && !home.text.contains("Rita <b>"))
            let csrf = try #require(Browser.csrf(home.text))
            // A form without the session's token is refused and changes nothing.
            let forged = try await browser.send(.post, "/portal/tickets", form: ["subject": "forged"])
            #expect(forged.status == .forbidden)
            #expect(try await api.send(.get, "/api/v1/tickets").decode(TicketPage.self).tickets.isEmpty)
            // So is a write to the API with the session but without its token in a header.
            let apiWrite = try await browser.send(.post, "/api/v1/tickets", headers: [.contentType: "application/json"])
            #expect(apiWrite.status == .forbidden)
            // Opening a ticket.
            let opened = try await browser.send(.post, "/portal/tickets", form: ["csrf": csrf, "subject": "<script>alert(1)</script>", "description": "line 1\nline 2", "priority": "high"])
            #expect(opened.status == .seeOther)
            let location = try #require(opened.headers[.location])
            let id = String(location.split(separator: "/").last!)
            let ticket = try await api.send(.get, "/api/v1/tickets/\(id)").decode(TicketView.self)
            #expect(ticket.requester.email == "rita@example.com" && ticket.priority == .high && ticket.channel == .web)
            // An agent's private note and public reply; the page shows the reply only.
            #expect(try await api.send(.post, "/api/v1/tickets/\(id)/comments", CommentRequest(body: "PRIVATE-NOTE", isPublic: false)).status == .created)
            #expect(try await api.send(.post, "/api/v1/tickets/\(id)/comments", CommentRequest(body: "We are on it", isPublic: true, authorName: "Bob")).status == .created)
            let page = try await browser.send(.get, location)
            #expect(page.text.contains("We are on it") && !page.text.contains("PRIVATE-NOTE"))
            #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !page.text.contains("<script>alert"))
            // Her reply.
            #expect(try await browser.send(.post, location + "/reply", form: ["csrf": csrf, "body": "Thanks!"]).status == .seeOther)
            let thread = try await api.send(.get, "/api/v1/tickets/\(id)").decode(TicketView.self).comments ?? []
            #expect(thread.last.map { "\($0.author) \($0.body) \($0.isPublic)" } == "requester Thanks! true")
            // Someone else's ticket does not exist for her.
            let other = try await api.create("not hers")
            #expect(try await browser.send(.get, "/portal/tickets/\(other.id)").status == .notFound)
            // Signing out ends the session.
            #expect(try await browser.send(.post, "/logout", form: ["csrf": csrf]).status == .seeOther)
            #expect(try await browser.send(.get, "/portal").status == .seeOther)
        }
    }

    @Test func solvedTicketsAreRatedOnceAndReopened() async throws {
        try await InProcessApp.run { api in
            try await Self.requester(api)
            var browser = Browser(api)
            _ = try await browser.signIn("rita@example.com", Self.password)
            let csrf = try #require(Browser.csrf(try await browser.send(.get, "/portal").text))
            let location = try #require(try await browser.send(.post, "/portal/tickets", form: ["csrf": csrf, "subject": "Broken"]).headers[.location])
            let id = String(location.split(separator: "/").last!)
            // Not solved yet: no rating.
            #expect(try await browser.send(.post, location + "/rate", form: ["csrf": csrf, "rating": "good"]).status == .conflict)
            #expect(try await api.send(.patch, "/api/v1/tickets/\(id)", TicketUpdateRequest(status: "solved")).status == .ok)
            let solved = try await browser.send(.get, location)
            #expect(solved.text.contains("How did we do?") && solved.text.contains("id=\"reopen\""))
            #expect(try await browser.send(.post, location + "/rate", form: ["csrf": csrf, "rating": "bad", "comment": "slow"]).status == .seeOther)
            let rated = try await api.send(.get, "/api/v1/tickets/\(id)").decode(TicketView.self)
            #expect(rated.fields == ["satisfaction": "bad", "satisfaction_comment": "slow"])
            let audit = try await api.send(.get, "/api/v1/tickets/\(id)/audit").decode(AuditView.self)
            #expect(audit.entries.contains { $0.cause.kind == .requester && $0.change.contains("satisfaction") })
            // Once only.
            #expect(try await browser.send(.post, location + "/rate", form: ["csrf": csrf, "rating": "good"]).status == .conflict)
            // Reopened, as the workflow allows (solved → open).
            #expect(try await browser.send(.post, location + "/reopen", form: ["csrf": csrf]).status == .seeOther)
            #expect(try await api.send(.get, "/api/v1/tickets/\(id)").decode(TicketView.self).status == "open")
        }
    }

    @Test func failedSignInsAreThrottledAndSessionsExpire() async throws {
        try await InProcessApp.run { api in
            try await Self.requester(api)
            var browser = Browser(api)
            for _ in 0..<5 { #expect(try await browser.signIn("rita@example.com", "not the password").status == .unauthorized) }
            let throttled = try await browser.signIn("rita@example.com", Self.password)
            #expect(throttled.status == .tooManyRequests && throttled.headers[.retryAfter] != nil)
            api.clock.advance(by: .minutes(16))
            #expect(try await browser.signIn("rita@example.com", Self.password).status == .seeOther)
            #expect(try await browser.send(.get, "/portal").status == .ok)
            // Idle for 31 minutes: the session is over.
            api.clock.advance(by: .minutes(31))
            #expect(try await browser.send(.get, "/portal").status == .seeOther)
            // Every attempt is in the security log.
            let log = try await api.send(.get, "/api/v1/security-log?limit=100").decode(SecurityLogPage.self)
            #expect(log.entries.filter { $0.action == .loginFailed }.count == 5)
            #expect(log.entries.filter { $0.action == .loginSucceeded }.count == 1)
            // A deactivated user cannot sign in.
            let id = try await api.send(.get, "/api/v1/users").decode(UserList.self).users.first { $0.email == "rita@example.com" }!.id
            #expect(try await api.send(.patch, "/api/v1/users/\(id)", UserChangeRequest(active: false)).status == .ok)
            #expect(try await browser.signIn("rita@example.com", Self.password).status == .unauthorized)
        }
    }

    /// The workflow decides which fields requesters see and fill in, and which priorities they choose.
    @Test func theWorkflowMarksFieldsPublicAndLimitsPriorities() async throws {
        let workflow = TestNodes.workflow + "\nportal: {public_fields: [order], priorities: [low, normal]}\n"
        try await InProcessApp.run(workflow: workflow) { api in
            try await Self.requester(api)
            var browser = Browser(api)
            _ = try await browser.signIn("rita@example.com", Self.password)
            let form = try await browser.send(.get, "/portal/new")
            #expect(form.text.contains(#"name="field.order""#) && !form.text.contains(#"value="urgent""#))
            let csrf = try #require(Browser.csrf(form.text))
            #expect(try await browser.send(.post, "/portal/tickets", form: ["csrf": csrf, "subject": "s", "priority": "urgent"]).status == .unprocessableContent)
            let made = try await browser.send(.post, "/portal/tickets", form: ["csrf": csrf, "subject": "Where is it?", "field.order": "A-17"])
            let location = try #require(made.headers[.location])
            let id = String(location.split(separator: "/").last!)
            #expect(try await api.send(.patch, "/api/v1/tickets/\(id)", TicketUpdateRequest(fields: ["margin": "INTERNAL-42"])).status == .ok)
            let page = try await browser.send(.get, location)
            #expect(page.text.contains("A-17") && !page.text.contains("INTERNAL-42"))
            // The same through the API: the requester view has the public field only, and a
            // requester cannot set an internal one.
            let token = try await api.send(.post, "/api/v1/users", NewUserRequest(name: "Otto", email: "otto@example.com", role: .requester))
            let otto = api.with(token: try token.decode(UserView.self).token)
            let mine = try await otto.send(.post, "/api/v1/tickets", NewTicketRequest(subject: "x", requester: RequesterInput(email: "o@x"), fields: ["order": "B-2"]))
            #expect(try mine.decode(RequesterTicketView.self).fields == ["order": "B-2"])
            let refused = try await otto.send(.post, "/api/v1/tickets", NewTicketRequest(subject: "x", requester: RequesterInput(email: "o@x"), fields: ["margin": "1"]))
            #expect(refused.status == .unprocessableContent && refused.errorCode == "not_for_role")
            let view = try await api.with(token: nil).send(.get, "/api/v1/tickets/\(id)")
            #expect(view.status == .unauthorized)
            #expect(try await api.send(.get, "/api/v1/tickets/\(id)").decode(TicketView.self).fields == ["order": "A-17", "margin": "INTERNAL-42"])
        }
    }

    @Test func theFirstAdminSignsInWithThePasswordGivenAtFirstStart() async throws {
        // Longer than bcrypt's 72 bytes: every character still counts.
        let long = String(repeating: "ü", count: 80) + "!"
        try await InProcessApp.run(configure: { $0.adminPassword = long }) { api in
            var browser = Browser(api)
            #expect(try await browser.signIn("admin@localhost", String(repeating: "ü", count: 80) + "?").status == .unauthorized)
            let signedIn = try await browser.signIn("admin@localhost", long)
            #expect(signedIn.status == .seeOther && signedIn.headers[.location] == "/")
            #expect(try await browser.send(.get, "/").status == .ok)
        }
    }

    @Test func staffLandOnTheDashboardAndItsScriptIsAFile() async throws {
        try await InProcessApp.run { api in
            let made = try await api.send(.post, "/api/v1/users", NewUserRequest(name: "Sue", email: "sue@example.com", role: .supervisor, password: Self.password))
            #expect(made.status == .created)
            var browser = Browser(api)
            #expect(try await browser.send(.get, "/").headers[.location] == "/login?next=/")
            let signedIn = try await browser.signIn("sue@example.com", Self.password)
            #expect(signedIn.headers[.location] == "/")
            let dashboard = try await browser.send(.get, "/")
            #expect(dashboard.status == .ok && dashboard.text.contains(#"<script src="/assets/dashboard.js"></script>"#))
            #expect(!dashboard.text.contains("<script>"))
            #expect(try await browser.send(.get, "/api/v1/queues").status == .ok)
            #expect(try await browser.send(.get, "/portal").headers[.location] == "/")
            #expect(try await browser.send(.get, "/assets/dashboard.js").headers[.contentType] == "text/javascript; charset=utf-8")
            // Only this site's paths are followed after signing in.
            var stranger = Browser(api)
            #expect(try await stranger.send(.get, "/login?next=//evil.example").text.contains(#"name="next" value="""#))
        }
    }
}
