import Foundation
import HTTPTypes
import Hummingbird
import TicketflowAPI
import TicketflowCore
import TicketflowNode
import TicketflowStorage

/// Users, their API tokens and the security log (admins only, by the policy). Accounts live
/// in this node's SQLite; every change is written with its security log entry in one
/// transaction before the answer is sent.
struct UserRoutes: Sendable {
    let access: AccessControl
    let node: DurableNode
    let maxBody: Int
    /// Whether the node is in a cluster (its random choices then go to the peers).
    var clustered = false
    typealias Context = NodeRequestContext

    /// In a cluster, every change to users and tokens is applied on every node (like the
    /// workflow), so each node authenticates every user and a revocation holds everywhere at once.
    static let shapes: [RouteShape] = [
        RouteShape(.get, "api/v1/users", .here, .listUsers), RouteShape(.post, "api/v1/users", .everyNode, .createUser),
        RouteShape(.get, "api/v1/users/:id", .here, .listUsers), RouteShape(.patch, "api/v1/users/:id", .everyNode, .updateUser),
        RouteShape(.get, "api/v1/users/:id/tokens", .here, .listTokens), RouteShape(.post, "api/v1/users/:id/tokens", .everyNode, .createToken),
        RouteShape(.delete, "api/v1/tokens/:id", .everyNode, .revokeToken),
        RouteShape(.get, "api/v1/security-log", .here, .readSecurityLog),
    ]

    var handlers: [Routes.Handler] { [listUsers, createUser, readUser, updateUser, listTokens, createToken, revokeToken, securityLog] }

    func register(on router: Router<Context>) {
        for (shape, handler) in zip(Self.shapes, handlers) {
            router.on(RouterPath(shape.path), method: shape.method, use: Routes.answeringErrors(handler))
        }
    }

    private var store: Store { access.store }

    static var chosenHeader: HTTPField.Name { AuthenticationMiddleware.chosenHeader }

    struct Chosen: Codable {
        var account: String?
        var token: String
        var secret: String
    }

    /// The random values of a change: those a peer chose, when forwarded over the cluster link;
    /// otherwise new ones.
    private func chosen(_ request: Request, _ context: Context, account: Bool) throws -> Chosen {
        if context.forwardedBy != nil, let text = request.headers[Self.chosenHeader] {
            do { return try JSONDecoder().decode(Chosen.self, from: Data(text.utf8)) } catch {
                throw APIError(.badRequest, "invalid_header", "the forwarded choice is malformed")
            }
        }
        return Chosen(account: account ? TokenSecret.id("usr") : nil, token: TokenSecret.id("tok"), secret: TokenSecret.generate())
    }

    /// Hands the choice to the cluster's forwarding (it removes the header before answering).
    private func announce(_ choice: Chosen, on response: inout Response) {
        if let data = try? JSONEncoder().encode(choice) {   // strings only: encoding cannot fail
            response.headers[Self.chosenHeader] = String(decoding: data, as: UTF8.self)
        }
    }
    private var now: Instant { access.clock.now() }

    // MARK: Users

    func listUsers(_ request: Request, _ context: Context) async throws -> Response {
        let after = request.uri.queryParameters["after"].map(String.init) ?? ""
        let limit = try Routes.limit(request, default: 100, max: 1_000)
        let users = try store.accounts(after: after, limit: limit)
        return JSONResponse.make(UserList(users: users.map(view), nextAfter: users.count == limit ? users.last?.id : nil))
    }

    func readUser(_ request: Request, _ context: Context) async throws -> Response {
        JSONResponse.make(view(try account(context)))
    }

    func createUser(_ request: Request, _ context: Context) async throws -> Response {
        let (body, _) = try await JSONResponse.decode(NewUserRequest.self, request, limit: maxBody)
        let line = try await checkedLine(body.line, role: body.role)
        if body.scopes != nil && body.role != .service {
            throw APIError(.unprocessableContent, "not_for_role", "only service accounts have scopes")
        }
        let choice = try chosen(request, context, account: true)
        let account = Account(id: choice.account ?? TokenSecret.id("usr"), name: body.name, email: body.email, role: body.role, line: line,
                              scopes: Set(body.scopes ?? []), createdAt: now)
        let secret = choice.secret
        let record = TokenRecord(id: choice.token, account: account.id, label: "created with the account", createdAt: now)
        let actor = context.identity?.account ?? "-"
        // An agent account is the engine's agent record too: same id, name and line.
        if body.role == .agent, let line {
            try await node.upsert(Agent(id: account.id, name: account.name, line: line))
        }
        try mapped { try store.addAccount(account, token: (record, TokenSecret.hash(secret)),
                                          log: SecurityEntry(at: now, actor: actor, action: .userCreated, subject: account.id,
                                                             address: Routes.address(context))) }
        if let password = body.password {
            try store.setPassword(of: account.id, hash: AccessControl.hashPassword(password))
        }
        var view = view(account)
        view.token = secret
        var response = JSONResponse.make(view, status: .created)
        response.headers[.location] = "/api/v1/users/\(account.id)"
        if clustered { announce(choice, on: &response) }
        return response
    }

    func updateUser(_ request: Request, _ context: Context) async throws -> Response {
        var account = try account(context)
        let (body, _) = try await JSONResponse.decode(UserChangeRequest.self, request, limit: maxBody)
        if body.isEmpty {
            throw APIError(.unprocessableContent, "empty_update", "nothing to change: give name, email, role, line, scopes, active or password")
        }
        let actor = context.identity?.account ?? "-"
        var log: [SecurityEntry] = []
        let at = now, address = Routes.address(context)
        if let role = body.role, role != account.role {
            log.append(SecurityEntry(at: at, actor: actor, action: .roleChanged, subject: "\(account.id): \(account.role.rawValue) → \(role.rawValue)", address: address))
            account.role = role
        }
        if let name = body.name { account.name = name }
        if let email = body.email { account.email = email }
        if let scopes = body.scopes { account.scopes = Set(scopes) }
        if body.line != nil || body.role != nil {
            let wanted = body.line ?? (account.role == .agent ? account.line : nil)
            account.line = try await checkedLine(wanted, role: account.role)
        }
        if account.role != .service { account.scopes = [] }
        if let active = body.active, active != account.active {
            account.active = active
            if !active { log.append(SecurityEntry(at: at, actor: actor, action: .userDeactivated, subject: account.id, address: address)) }
        }
        if account.id == context.identity?.account, account.role != .admin || !account.active {
            throw APIError(.unprocessableContent, "self_lockout", "an admin cannot take away their own admin role or deactivate themselves")
        }
        log.append(SecurityEntry(at: at, actor: actor, action: .userChanged, subject: account.id, address: address))
        if account.role == .agent, let line = account.line {
            let presence = await node.agent(account.id)?.presence ?? .offline
            try await node.upsert(Agent(id: account.id, name: account.name, line: line, presence: presence))
        }
        let changed = account
        try mapped { try store.updateAccount(changed, log: log) }
        if let password = body.password {
            try store.setPassword(of: account.id, hash: AccessControl.hashPassword(password))
            try store.log(SecurityEntry(at: at, actor: actor, action: .passwordChanged, subject: account.id, address: address))
        }
        try access.accountChanged(account.id)
        return JSONResponse.make(view(account))
    }

    // MARK: Tokens

    func listTokens(_ request: Request, _ context: Context) async throws -> Response {
        let account = try account(context)
        return JSONResponse.make(TokenList(tokens: try store.tokens(of: account.id).map { Self.view($0) }))
    }

    func createToken(_ request: Request, _ context: Context) async throws -> Response {
        let account = try account(context)
        let (body, _) = try await JSONResponse.decode(NewTokenRequest.self, request, limit: maxBody)
        let at = now
        let choice = try chosen(request, context, account: false)
        let record = TokenRecord(id: choice.token, account: account.id, label: body.label, createdAt: at,
                                 expiresAt: body.expiresInDays.map { at + .days(Int64($0)) })
        let secret = choice.secret
        try store.addToken(record, hash: TokenSecret.hash(secret),
                           log: SecurityEntry(at: at, actor: context.identity?.account ?? "-", action: .tokenCreated,
                                              subject: "\(record.id) of \(account.id)", address: Routes.address(context)))
        var response = JSONResponse.make(Self.view(record, secret: secret), status: .created)
        if clustered { announce(choice, on: &response) }
        return response
    }

    func revokeToken(_ request: Request, _ context: Context) async throws -> Response {
        let id = try Routes.parameter(context, "id")
        guard try store.tokenRecord(id) != nil else { throw APIError(.notFound, "unknown_token", "no token with id '\(id)'") }
        try store.revokeToken(id, at: now, log: SecurityEntry(at: now, actor: context.identity?.account ?? "-", action: .tokenRevoked,
                                                              subject: id, address: Routes.address(context)))
        access.forgetCachedTokens()
        guard let record = try store.tokenRecord(id) else { throw APIError(.notFound, "unknown_token", "no token with id '\(id)'") }
        return JSONResponse.make(Self.view(record))
    }

    // MARK: Security log

    func securityLog(_ request: Request, _ context: Context) async throws -> Response {
        let before = try request.uri.queryParameters["before"].map { text in
            guard let n = Int64(text), n > 0 else { throw APIError(.badRequest, "invalid_parameter", "'before' must be a positive sequence number") }
            return n
        } ?? Int64.max
        let limit = try Routes.limit(request, default: 100, max: 1_000)
        let rows = try store.securityLog(before: before, limit: limit)
        let entries = rows.map { SecurityLogPage.Entry(seq: $0.seq, at: $0.entry.at.iso8601, actor: $0.entry.actor, action: $0.entry.action,
                                                       subject: $0.entry.subject, address: $0.entry.address) }
        return JSONResponse.make(SecurityLogPage(entries: entries, nextBefore: rows.count == limit ? rows.last?.seq : nil))
    }

    // MARK: Helpers

    private func account(_ context: Context) throws -> Account {
        let id = try Routes.parameter(context, "id")
        guard let account = try store.account(id) else { throw APIError(.notFound, "unknown_user", "no user with id '\(id)'") }
        return account
    }

    /// An agent's line, required for agents (one the workflow has) and refused for everyone else.
    private func checkedLine(_ name: String?, role: Role) async throws -> String? {
        guard role == .agent else {
            if name != nil { throw APIError(.unprocessableContent, "not_for_role", "only agents have a line") }
            return nil
        }
        guard let name else { throw APIError(.unprocessableContent, "not_for_role", "an agent needs a 'line' (e.g. L1)") }
        let lines = await node.workflow.lines
        guard lines.contains(where: { $0.name == name }) else {
            throw APIError(.conflict, "unknown_line", "no line '\(name)'; the workflow has \(lines.map(\.name).joined(separator: ", "))")
        }
        return name
    }

    private func view(_ a: Account) -> UserView {
        UserView(id: a.id, name: a.name, email: a.email, role: a.role, line: a.line,
                 scopes: a.scopes.sorted { $0.rawValue < $1.rawValue }, active: a.active, createdAt: a.createdAt.iso8601)
    }

    static func view(_ t: TokenRecord, secret: String? = nil) -> TokenView {
        TokenView(id: t.id, user: t.account, label: t.label, createdAt: t.createdAt.iso8601, expiresAt: t.expiresAt?.iso8601,
                  revokedAt: t.revokedAt?.iso8601, token: secret)
    }

    /// Storage's account errors as API answers.
    private func mapped(_ body: () throws -> Void) throws {
        do { try body() } catch Store.AccountError.emailTaken(let email) {
            throw APIError(.conflict, "email_taken", "another user has the e-mail address \(email)")
        } catch Store.AccountError.unknownAccount(let id) {
            throw APIError(.notFound, "unknown_user", "no user with id '\(id)'")
        }
    }
}
