import Foundation
import HTTPTypes
import Hummingbird
import TicketflowAPI
import TicketflowCore
import TicketflowServer
import TicketflowTesting
import Testing

/// Identities and the one authorization policy, against the application `ticketflow serve`
/// builds, in process.
@Suite(.timeLimit(.minutes(2))) struct AccessTests {
    /// One account of each kind, made through the API by the first admin.
    struct People {
        var tokens: [String: String] = [:]      // label → token
        var ids: [String: String] = [:]         // label → account id
        static let requesterEmail = "rita@example.com"
    }

    static func makePeople(_ api: InProcessApp.Client) async throws -> People {
        var people = People()
        let specs: [(String, NewUserRequest)] = [
            ("requester", NewUserRequest(name: "Rita", email: People.requesterEmail, role: .requester)),
            ("other-requester", NewUserRequest(name: "Otto", email: "otto@example.com", role: .requester)),
            ("agent", NewUserRequest(name: "Alex", email: "alex@example.com", role: .agent, line: "L1")),
            ("supervisor", NewUserRequest(name: "Sue", email: "sue@example.com", role: .supervisor)),
            ("admin", NewUserRequest(name: "Ada", email: "ada@example.com", role: .admin)),
            ("service-none", NewUserRequest(name: "Bot0", email: "bot0@example.com", role: .service, scopes: [])),
            ("service-all", NewUserRequest(name: "Bot", email: "bot@example.com", role: .service, scopes: Scope.allCases)),
        ]
        for (label, spec) in specs {
            let reply = try await api.send(.post, "/api/v1/users", spec)
            try #require(reply.status == .created, "\(label): \(reply.text)")
            let user = try reply.decode(UserView.self)
            people.tokens[label] = try #require(user.token)
            people.ids[label] = user.id
        }
        return people
    }

    static func identity(_ label: String, _ people: People) -> Identity? {
        guard people.tokens[label] != nil else { return nil }
        let role: Role = switch label {
        case "requester", "other-requester": .requester
        case "agent": .agent
        case "supervisor": .supervisor
        case "admin": .admin
        default: .service
        }
        return Identity(account: people.ids[label]!, name: "", email: label == "requester" ? People.requesterEmail : "x@example.com",
                        role: role, scopes: label == "service-all" ? Set(Scope.allCases) : [])
    }

    /// Walks every route the router knows, as nobody and as every kind of account, and checks
    /// the answer against the policy: 401 where it says unauthenticated, 403 where it says
    /// forbidden, anything else where it allows. A route missing from the policy cannot pass.
    @Test func everyRouteAnswersEveryRoleAsThePolicySays() async throws {
        try await InProcessApp.run { api in
            let people = try await Self.makePeople(api)
            let ticket = try await api.with(token: people.tokens["requester"]).send(.post, "/api/v1/tickets",
                NewTicketRequest(subject: "Mine", requester: RequesterInput(email: People.requesterEmail)))
            let ticketID = try ticket.decode(RequesterTicketView.self).id
            let spareToken = try await api.send(.post, "/api/v1/users/\(people.ids["admin"]!)/tokens", NewTokenRequest(label: "spare"))
            let spareID = try spareToken.decode(TokenView.self).id
            let labels = ["nobody", "requester", "agent", "supervisor", "admin", "service-none", "service-all"]
            var checked = 0
            for shape in api.routes.shapes {
                let path = "/" + shape.path.split(separator: "/").map { part -> String in
                    switch part {
                    case ":id" where shape.path.hasPrefix("api/v1/tickets"): return ticketID
                    case ":id" where shape.path.hasPrefix("api/v1/agents"): return people.ids["agent"]!
                    case ":id" where shape.path.hasPrefix("api/v1/users"): return people.ids["requester"]!
                    case ":id" where shape.path.hasPrefix("api/v1/tokens"): return spareID
                    case ":macro": return "no-such-macro"
                    case ":name": return "first-line"
                    default: return String(part)
                    }
                }.joined(separator: "/")
                for label in labels {
                    // A body that no route accepts: an allowed write stops at 400, changing nothing.
                    let body: String? = [.post, .put, .patch].contains(shape.method) ? #"{"no_such_field": 1}"# : nil
                    let reply = try await api.with(token: people.tokens[label])
                        .send(shape.method, path.replacingOccurrences(of: "//", with: "/"), raw: body)
                    let expected = AccessPolicy.decide(Self.identity(label, people), shape.operation)
                    let seen = Self.policyAnswer(reply)
                    switch expected {
                    case .unauthenticated: #expect(seen == .unauthenticated, "\(label) \(shape.method) \(shape.path): \(reply.status)")
                    case .forbidden: #expect(seen == .forbidden, "\(label) \(shape.method) \(shape.path): \(reply.status)")
                    case .allow: #expect(seen == nil, "\(label) \(shape.method) \(shape.path): \(reply.status) \(reply.text)")
                    }
                    checked += 1
                }
            }
            #expect(checked == api.routes.shapes.count * labels.count)
            // Nothing the walk sent was a valid write: the ticket is as it was made.
            let after = try await api.send(.get, "/api/v1/tickets/\(ticketID)").decode(TicketView.self)
            #expect(after.status == "new" && after.comments?.isEmpty == true)
        }
    }

    /// Whether an answer is the policy's refusal, and which: 401 (or, for a page, the way to
    /// the sign-in page), 403 `forbidden` (or, for a page, the way to the role's own home or
    /// the page that says there is nothing here). Any other answer came from a handler.
    static func policyAnswer(_ reply: InProcessApp.Client.Reply) -> AccessPolicy.Decision? {
        if reply.status == .unauthorized && (reply.errorCode == "unauthenticated" || reply.errorCode == "invalid_token") { return .unauthenticated }
        if reply.status == .seeOther, reply.headers[.location]?.hasPrefix("/login?next=") == true { return .unauthenticated }
        if reply.status == .forbidden && (reply.errorCode == "forbidden" || reply.text.contains("Nothing here for your account")) { return .forbidden }
        if reply.status == .seeOther, ["/", "/portal"].contains(reply.headers[.location] ?? "") { return .forbidden }
        return nil
    }

    /// docs/security.md prints the policy's matrix; the two must not drift apart.
    @Test func theDocumentedMatrixIsThePolicy() throws {
        let doc = try String(contentsOfFile: #filePath.components(separatedBy: "/Tests/")[0] + "/docs/security.md", encoding: .utf8)
        #expect(doc.contains(AccessMatrix.markdown()), "docs/security.md must contain:\n\(AccessMatrix.markdown())")
    }

    @Test func aRequesterReachesOnlyTheirOwnTicketsThroughTheRequesterView() async throws {
        try await InProcessApp.run { api in
            let people = try await Self.makePeople(api)
            let rita = api.with(token: people.tokens["requester"])
            let otto = api.with(token: people.tokens["other-requester"])
            // Rita opens a ticket; whatever requester she names, it is hers.
            let opened = try await rita.send(.post, "/api/v1/tickets",
                NewTicketRequest(subject: "My printer", priority: .high, requester: RequesterInput(name: "Mallory", email: "mallory@example.com")))
            #expect(opened.status == .created)
            let mine = try opened.decode(RequesterTicketView.self)
            let full = try await api.send(.get, "/api/v1/tickets/\(mine.id)").decode(TicketView.self)
            #expect(full.requester.email == People.requesterEmail && full.requester.name == "Rita" && full.channel == .web)
            // Someone else's ticket does not exist for her, whatever she asks.
            let theirs = try await api.create("Someone else's")
            for (method, path, body) in [(HTTPRequest.Method.get, "/api/v1/tickets/\(theirs.id)", nil as String?),
                                         (.post, "/api/v1/tickets/\(theirs.id)/comments", #"{"body":"hi"}"#)] {
                let reply = try await rita.send(method, path, raw: body)
                #expect(reply.status == .notFound && reply.errorCode == "unknown_ticket", "\(method) \(path)")
            }
            #expect(try await otto.send(.get, "/api/v1/tickets/\(mine.id)").status == .notFound)
            // Her list holds her tickets only, in the requester view, whatever the query says.
            let list = try await rita.send(.get, "/api/v1/tickets?status=new&limit=10")
            #expect(try list.decode(RequesterTicketPage.self).tickets.map(\.id) == [mine.id])
            // Her comment is public and hers, even when she says otherwise.
            let replied = try await rita.send(.post, "/api/v1/tickets/\(mine.id)/comments",
                                              raw: #"{"body":"It smokes","public":false,"author":"agent","author_name":"Boss"}"#)
            #expect(replied.status == .created)
            let thread = try await api.send(.get, "/api/v1/tickets/\(mine.id)").decode(TicketView.self).comments ?? []
            #expect(thread.map { "\($0.author) \($0.authorName) \($0.isPublic)" } == ["requester Rita true"])
            // What agents alone may do is refused.
            for (method, path) in [(HTTPRequest.Method.patch, "/api/v1/tickets/\(mine.id)"), (.post, "/api/v1/tickets/\(mine.id)/escalate"),
                                   (.get, "/api/v1/tickets/\(mine.id)/audit"), (.get, "/api/v1/queues"), (.get, "/api/v1/agents")] {
                #expect(try await rita.send(method, path, raw: method == .get ? nil : "{}").status == .forbidden, "\(method) \(path)")
            }
        }
    }

    /// A unique string in a private comment, an internal field and an internal note is
    /// in the ticket; nothing a requester can reach shows it.
    /// The test workflow, plus a notification to the requester on every change: texts a
    /// requester receives, made by the workflow.
    static let notifyingWorkflow = TestNodes.workflow + """

    templates: {changed: "Ticket {{ticket.id}} ({{ticket.subject}}) is {{ticket.status}}, {{ticket.priority}}, for {{ticket.requester.name}}"}
    triggers:
      - {name: tell-requester, on: [ticket.updated, ticket.commented], then: [{notify: {to: requester, template: changed}}]}
    """

    @Test func privateStringsNeverReachARequester() async throws {
        try await InProcessApp.run(workflow: Self.notifyingWorkflow) { api in
            let people = try await Self.makePeople(api)
            let rita = api.with(token: people.tokens["requester"])
            let canary = "CANARY-\(UUID().uuidString)"
            let opened = try await rita.send(.post, "/api/v1/tickets", NewTicketRequest(subject: "Help", requester: RequesterInput(email: "x@y")))
            let id = try opened.decode(RequesterTicketView.self).id
            #expect(try await api.send(.post, "/api/v1/tickets/\(id)/comments", CommentRequest(body: "internal note \(canary)", isPublic: false)).status == .created)
            #expect(try await api.send(.patch, "/api/v1/tickets/\(id)", raw: #"{"fields":{"internal":"\#(canary)"}}"#).status == .ok)
            #expect(try await api.send(.post, "/api/v1/tickets/\(id)/comments", CommentRequest(body: "We are on it", isPublic: true)).status == .created)
            let agentReply = try await api.with(token: people.tokens["agent"]).send(.post, "/api/v1/tickets/\(id)/comments",
                                                                                   CommentRequest(body: "private \(canary)", isPublic: false))
            #expect(agentReply.status == .created)
            let staff = try await api.send(.get, "/api/v1/tickets/\(id)")
            #expect(staff.text.contains(canary))   // the canary is there to find
            var seen: [String] = []
            for path in ["/api/v1/tickets/\(id)", "/api/v1/tickets", "/api/v1/tickets?limit=500"] {
                let reply = try await rita.send(.get, path)
                #expect(reply.status == .ok)
                seen.append(reply.text)
            }
            let replied = try await rita.send(.post, "/api/v1/tickets/\(id)/comments", CommentRequest(body: "thanks"))
            seen.append(replied.text)
            // The notifications addressed to her, and the webhook payloads they become.
            // Every notification addressed to her (from the journal: the outbox may already have
            // delivered them), as the webhook payloads they become.
            let journal = try #require(try await api.node.events(of: id))
            let notifications = journal.compactMap { event -> TicketflowCore.Notification? in
                if case .notified(let n) = event.change, n.recipient == People.requesterEmail { return n } else { return nil }
            }
            #expect(notifications.count >= 3)
            for n in notifications {
                seen.append(String(decoding: JSONOutput.bytes(WebhookPayload(id: n.id, ticket: id, recipient: n.recipient,
                                                                             template: n.template, body: n.body)), as: UTF8.self))
            }
            for text in seen { #expect(!text.contains(canary), "\(text)") }
            let view = try await rita.send(.get, "/api/v1/tickets/\(id)").decode(RequesterTicketView.self)
            #expect(view.comments?.map(\.body) == ["We are on it", "thanks"])
        }
    }

    @Test func tokensWorkUntilRevokedExpiredOrTheirUserIsDeactivated() async throws {
        try await InProcessApp.run { api in
            let people = try await Self.makePeople(api)
            let agentID = people.ids["agent"]!
            let agent = api.with(token: people.tokens["agent"])
            #expect(try await agent.send(.get, "/api/v1/queues").status == .ok)
            // Tokens are listed without their secret.
            let listed = try await api.send(.get, "/api/v1/users/\(agentID)/tokens")
            #expect(listed.status == .ok && !listed.text.contains(people.tokens["agent"]!))
            // A second token that expires in a day.
            let made = try await api.send(.post, "/api/v1/users/\(agentID)/tokens", NewTokenRequest(label: "laptop", expiresInDays: 1))
            let laptop = try made.decode(TokenView.self)
            let laptopClient = api.with(token: try #require(laptop.token))
            #expect(try await laptopClient.send(.get, "/api/v1/queues").status == .ok)
            api.clock.advance(by: .days(1))
            #expect(try await laptopClient.send(.get, "/api/v1/queues").status == .unauthorized)
            // Revoked: refused at once.
            let first = try await api.send(.get, "/api/v1/users/\(agentID)/tokens").decode(TokenList.self).tokens.first { $0.label == "created with the account" }!
            #expect(try await api.send(.delete, "/api/v1/tokens/\(first.id)").status == .ok)
            let refused = try await agent.send(.get, "/api/v1/queues")
            #expect(refused.status == .unauthorized && refused.errorCode == "invalid_token" && refused.headers[.wwwAuthenticate] != nil)
            // Deactivated: every token of the user stops working at once.
            let fresh = try await api.send(.post, "/api/v1/users/\(agentID)/tokens", NewTokenRequest(label: "new")).decode(TokenView.self)
            let freshClient = api.with(token: fresh.token)
            #expect(try await freshClient.send(.get, "/api/v1/queues").status == .ok)
            #expect(try await api.send(.patch, "/api/v1/users/\(agentID)", UserChangeRequest(active: false)).status == .ok)
            #expect(try await freshClient.send(.get, "/api/v1/queues").status == .unauthorized)
            // Garbage and missing credentials.
            #expect(try await api.with(token: "tf_nonsense").send(.get, "/api/v1/queues").status == .unauthorized)
            #expect(try await api.with(token: nil).send(.get, "/api/v1/queues").errorCode == "unauthenticated")
            #expect(try await api.send(.get, "/api/v1/queues", headers: [.authorization: "Basic YTpi"]).status == .unauthorized)
            // A forged identity header from a client is not believed.
            let forged = try await api.with(token: nil).send(.get, "/api/v1/queues", headers: [HTTPField.Name("X-Ticketflow-Identity")!:
                #"{"account":"admin","name":"x","email":"a@b","role":"admin","scopes":[]}"#])
            #expect(forged.status == .unauthorized)
            // Every change is in the security log, newest first.
            let log = try await api.send(.get, "/api/v1/security-log?limit=1000").decode(SecurityLogPage.self)
            let actions = log.entries.map(\.action)
            #expect(actions.first == .userChanged && actions.contains(.userDeactivated) && actions.contains(.tokenRevoked))
            #expect(actions.filter { $0 == .userCreated }.count == 7 && actions.last == .adminCreated)
            #expect(!log.entries.contains { $0.subject.contains("tf_") })
        }
    }

    @Test func apiCallsAreLimitedPerAccount() async throws {
        try await InProcessApp.run(configure: { $0.apiRateLimit = 5 }) { api in
            for _ in 0..<10 { #expect(try await api.send(.get, "/api/v1/queues").status == .ok) }   // a burst of twice the rate
            let refused = try await api.send(.get, "/api/v1/queues")
            #expect(refused.status == .tooManyRequests && refused.errorCode == "rate_limited" && refused.headers[.retryAfter] == "1")
            #expect(try await api.with(token: nil).send(.get, "/healthz").status == .ok)   // nobody's calls are not counted
            api.clock.advance(by: .seconds(1))
            for _ in 0..<5 { #expect(try await api.send(.get, "/api/v1/queues").status == .ok) }
            #expect(try await api.send(.get, "/api/v1/queues").status == .tooManyRequests)
        }
    }

    @Test func usersAreCheckedAndAgentsBecomeAgents() async throws {
        try await InProcessApp.run { api in
            let people = try await Self.makePeople(api)
            // The agent account is the engine's agent: it can be routed to and set its own presence only.
            let agentID = people.ids["agent"]!
            let agent = api.with(token: people.tokens["agent"])
            #expect(try await api.send(.get, "/api/v1/agents/\(agentID)").decode(AgentView.self).line == "L1")
            #expect(try await agent.send(.put, "/api/v1/agents/\(agentID)/presence", PresenceRequest(presence: .online)).status == .ok)
            #expect(try await agent.send(.put, "/api/v1/agents/someone-else/presence", PresenceRequest(presence: .online)).status == .forbidden)
            // An agent acts as themselves: naming someone else is refused, and comments carry their name.
            let t = try await api.create()
            // Agents work tags and fields.
            let tagged = try await agent.send(.patch, "/api/v1/tickets/\(t.id)", TicketUpdateRequest(fields: ["os": "linux"], addTags: ["vip", "printer"]))
            #expect(tagged.status == .ok)
            #expect(try tagged.decode(TicketView.self).tags == ["printer", "vip"])
            let untagged = try await agent.send(.patch, "/api/v1/tickets/\(t.id)", TicketUpdateRequest(removeTags: ["vip"]))
            #expect(try untagged.decode(TicketView.self).tags == ["printer"])
            #expect(try await agent.send(.patch, "/api/v1/tickets/\(t.id)", raw: #"{"add_tags":["a,b"]}"#).status == .unprocessableContent)
            #expect(try await agent.send(.post, "/api/v1/tickets/\(t.id)/escalate", headers: [.agent: "bob"]).status == .forbidden)
            #expect(try await agent.send(.post, "/api/v1/tickets/\(t.id)/escalate").status == .ok)
            let audit = try await api.send(.get, "/api/v1/tickets/\(t.id)/audit").decode(AuditView.self)
            #expect(audit.entries.contains { $0.cause.kind == .agent && $0.cause.name == agentID })
            // Bad users change nothing.
            for (body, code) in [(#"{"name":"X","email":"rita@example.com","role":"agent","line":"L1"}"#, "email_taken"),
                                 (#"{"name":"X","email":"x1@example.com","role":"agent"}"#, "not_for_role"),
                                 (#"{"name":"X","email":"x2@example.com","role":"agent","line":"L7"}"#, "unknown_line"),
                                 (#"{"name":"X","email":"x3@example.com","role":"requester","line":"L1"}"#, "not_for_role"),
                                 (#"{"name":"X","email":"x4@example.com","role":"agent","scopes":["tickets:read"],"line":"L1"}"#, "not_for_role"),
                                 (#"{"name":"X","email":"x5@example.com","role":"king"}"#, "invalid_field"),
                                 (#"{"name":"X","email":"no-at-sign","role":"admin"}"#, "invalid_field")] {
                let reply = try await api.send(.post, "/api/v1/users", raw: body)
                #expect(reply.errorCode == code, "\(body): \(reply.text)")
            }
            let users = try await api.send(.get, "/api/v1/users").decode(UserList.self).users
            #expect(users.count == 8)
            // An admin cannot lock themselves out.
            let me = try await api.send(.patch, "/api/v1/users/admin", UserChangeRequest(role: .agent, line: "L1"))
            #expect(me.status == .unprocessableContent && me.errorCode == "self_lockout")
            #expect(try await api.send(.patch, "/api/v1/users/admin", raw: #"{"name":null}"#).errorCode == "empty_update")
            // A role change is logged as such and takes effect at once.
            let sue = api.with(token: people.tokens["supervisor"])
            #expect(try await sue.send(.get, "/api/v1/security-log").status == .forbidden)
            #expect(try await api.send(.patch, "/api/v1/users/\(people.ids["supervisor"]!)", UserChangeRequest(role: .admin)).status == .ok)
            #expect(try await sue.send(.get, "/api/v1/security-log").status == .ok)
        }
    }
}
