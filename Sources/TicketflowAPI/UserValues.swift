import TicketflowCore

/// `POST /api/v1/users` (admins only).
public struct NewUserRequest: Codable, Sendable, Equatable {
    public var name: String
    public var email: String
    public var role: Role
    /// An agent's line, by name (`L1`); required for agents, refused for other roles.
    public var line: String?
    /// A service account's scopes; refused for other roles.
    public var scopes: [Scope]?
    /// For signing in with a browser (12 to 200 characters); none: API tokens only.
    public var password: String?

    public init(name: String, email: String, role: Role, line: String? = nil, scopes: [Scope]? = nil, password: String? = nil) {
        self.name = name; self.email = email; self.role = role; self.line = line; self.scopes = scopes; self.password = password
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case name, email, role, line, scopes, password }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self, in: "a new user")
        name = try c.requiredString(CodingKeys.name, min: 1, max: RequestLimits.name)
        email = try UserFields.email(try c.requiredString(CodingKeys.email, min: 3, max: RequestLimits.email))
        guard let role = try c.oneOf(Role.self, CodingKeys.role, what: "role") else {
            throw RequestError(.missingField, "'role' is required: one of \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.role = role
        line = try c.string(CodingKeys.line, min: 1, max: RequestLimits.identifier)
        scopes = try UserFields.scopes(try c.strings(CodingKeys.scopes))
        password = try UserFields.password(try c.string(CodingKeys.password, max: 200))
    }
}

/// `PATCH /api/v1/users/{id}`: what to change; at least one field.
public struct UserChangeRequest: Codable, Sendable, Equatable {
    public var name: String?
    public var email: String?
    public var role: Role?
    public var line: String?
    public var scopes: [Scope]?
    /// `false` deactivates the account (its tokens and sessions stop working at once); `true` restores it.
    public var active: Bool?
    /// A new password for browser sign-in (12 to 200 characters); the user's sessions end.
    public var password: String?

    public init(name: String? = nil, email: String? = nil, role: Role? = nil, line: String? = nil, scopes: [Scope]? = nil,
                active: Bool? = nil, password: String? = nil) {
        self.name = name; self.email = email; self.role = role; self.line = line; self.scopes = scopes; self.active = active
        self.password = password
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case name, email, role, line, scopes, active, password }

    /// Nothing to change (every field absent or null): refused as `empty_update`, like a ticket's.
    public var isEmpty: Bool {
        name == nil && email == nil && role == nil && line == nil && scopes == nil && active == nil && password == nil
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self, in: "a user change")
        name = try c.string(CodingKeys.name, min: 1, max: RequestLimits.name)
        email = try c.string(CodingKeys.email, min: 3, max: RequestLimits.email).map(UserFields.email)
        role = try c.oneOf(Role.self, CodingKeys.role, what: "role")
        line = try c.string(CodingKeys.line, min: 1, max: RequestLimits.identifier)
        scopes = try UserFields.scopes(try c.strings(CodingKeys.scopes))
        active = try c.value(Bool.self, CodingKeys.active)
        password = try UserFields.password(try c.string(CodingKeys.password, max: 200))

    }
}

enum UserFields {
    static func email(_ text: String) throws -> String {
        guard text.contains("@"), !text.contains(where: \.isWhitespace) else {
            throw RequestError(.invalidField, "'email' is not an e-mail address")
        }
        return text
    }

    static func password(_ text: String?) throws -> String? {
        guard let text else { return nil }
        guard (12...200).contains(text.count) else {
            throw RequestError(.invalidField, "'password' must be 12 to 200 characters long")
        }
        return text
    }

    static func scopes(_ names: [String]?) throws -> [Scope]? {
        try names?.map { name in
            guard let scope = Scope(rawValue: name) else {
                throw RequestError(.invalidField, "unknown scope '\(name)'; expected \(Scope.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return scope
        }
    }
}

/// An account as the API shows it; `token` only in the answer that created it.
public struct UserView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var email: String
    public var role: Role
    public var line: String?
    public var scopes: [Scope]
    public var active: Bool
    public var createdAt: String
    /// The new account's first API token: shown once, in the answer to its creation; only a hash is kept.
    @OmittedWhenNil public var token: String?

    public init(id: String, name: String, email: String, role: Role, line: String?, scopes: [Scope], active: Bool,
                createdAt: String, token: String? = nil) {
        self.id = id; self.name = name; self.email = email; self.role = role; self.line = line; self.scopes = scopes
        self.active = active; self.createdAt = createdAt; self.token = token
    }

    enum CodingKeys: String, CodingKey { case id, name, email, role, line, scopes, active, createdAt = "created_at", token }
}

public struct UserList: Codable, Sendable, Equatable {
    public var users: [UserView]
    public var nextAfter: String?

    public init(users: [UserView], nextAfter: String?) { self.users = users; self.nextAfter = nextAfter }

    enum CodingKeys: String, CodingKey { case users, nextAfter = "next_after" }
}

/// `POST /api/v1/users/{id}/tokens`.
public struct NewTokenRequest: Codable, Sendable, Equatable {
    public var label: String
    /// Days until the token expires (1 to 3650); none: it lasts until revoked.
    public var expiresInDays: Int?

    public init(label: String, expiresInDays: Int? = nil) { self.label = label; self.expiresInDays = expiresInDays }

    enum CodingKeys: String, CodingKey, CaseIterable { case label, expiresInDays = "expires_in_days" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(CodingKeys.self, in: "a new token")
        label = try c.requiredString(CodingKeys.label, min: 1, max: RequestLimits.name)
        expiresInDays = try c.value(Int.self, CodingKeys.expiresInDays)
        if let days = expiresInDays, !(1...3650).contains(days) {
            throw RequestError(.invalidField, "'expires_in_days' must be 1 to 3650")
        }
    }
}

/// A token as listed: never the secret, except `token` in the answer that created it.
public struct TokenView: Codable, Sendable, Equatable {
    public var id: String
    public var user: String
    public var label: String
    public var createdAt: String
    public var expiresAt: String?
    public var revokedAt: String?
    @OmittedWhenNil public var token: String?

    public init(id: String, user: String, label: String, createdAt: String, expiresAt: String?, revokedAt: String?, token: String? = nil) {
        self.id = id; self.user = user; self.label = label; self.createdAt = createdAt; self.expiresAt = expiresAt
        self.revokedAt = revokedAt; self.token = token
    }

    enum CodingKeys: String, CodingKey {
        case id, user, label, createdAt = "created_at", expiresAt = "expires_at", revokedAt = "revoked_at", token
    }
}

public struct TokenList: Codable, Sendable, Equatable {
    public var tokens: [TokenView]
    public init(tokens: [TokenView]) { self.tokens = tokens }
}

/// `GET /api/v1/security-log` (admins only): newest first.
public struct SecurityLogPage: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var seq: Int64
        public var at: String
        public var actor: String
        public var action: SecurityEntry.Action
        public var subject: String
        public var address: String?

        public init(seq: Int64, at: String, actor: String, action: SecurityEntry.Action, subject: String, address: String?) {
            self.seq = seq; self.at = at; self.actor = actor; self.action = action; self.subject = subject; self.address = address
        }
    }

    public var entries: [Entry]
    public var nextBefore: Int64?

    public init(entries: [Entry], nextBefore: Int64?) { self.entries = entries; self.nextBefore = nextBefore }

    enum CodingKeys: String, CodingKey { case entries, nextBefore = "next_before" }
}
