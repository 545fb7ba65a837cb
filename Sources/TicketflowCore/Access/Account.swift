/// A user of the node: a person with a role, or a service account with scopes. Accounts are
/// deactivated, never deleted, so the audit trail always names someone who existed.
public struct Account: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    public var email: String
    public var role: Role
    /// An agent's line, by name (`L1`); nil for other roles.
    public var line: String?
    public var scopes: Set<Scope>
    public var active: Bool
    public var createdAt: Instant

    public init(id: String, name: String, email: String, role: Role, line: String? = nil, scopes: Set<Scope> = [],
                active: Bool = true, createdAt: Instant) {
        self.id = id; self.name = name; self.email = email; self.role = role; self.line = line
        self.scopes = scopes; self.active = active; self.createdAt = createdAt
    }

    public var identity: Identity { Identity(account: id, name: name, email: email, role: role, scopes: scopes) }
}

/// An API token as stored: never the secret, only its hash and what it is for.
public struct TokenRecord: Sendable, Equatable {
    public var id: String
    public var account: String
    public var label: String
    public var createdAt: Instant
    public var expiresAt: Instant?
    public var revokedAt: Instant?

    public init(id: String, account: String, label: String, createdAt: Instant, expiresAt: Instant? = nil, revokedAt: Instant? = nil) {
        self.id = id; self.account = account; self.label = label; self.createdAt = createdAt
        self.expiresAt = expiresAt; self.revokedAt = revokedAt
    }

    /// Whether the token admits requests at `now`.
    public func isValid(at now: Instant) -> Bool {
        revokedAt == nil && (expiresAt.map { now < $0 } ?? true)
    }
}

/// One entry of the security audit log: who did what to whom, when and from where.
public struct SecurityEntry: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable, Codable {
        case loginSucceeded = "login_succeeded", loginFailed = "login_failed", logout
        case passwordChanged = "password_changed"
        case tokenCreated = "token_created", tokenRevoked = "token_revoked"
        case userCreated = "user_created", userChanged = "user_changed", roleChanged = "role_changed"
        case userDeactivated = "user_deactivated", workflowReplaced = "workflow_replaced"
        case adminCreated = "admin_created"
    }

    public var at: Instant
    /// The acting account's id, or "-" when nobody was identified (a failed login).
    public var actor: String
    public var action: Action
    /// What it was done to: an account, a token id, a workflow label.
    public var subject: String
    /// The client's address, when known.
    public var address: String?

    public init(at: Instant, actor: String, action: Action, subject: String, address: String?) {
        self.at = at; self.actor = actor; self.action = action; self.subject = subject; self.address = address
    }
}

/// A browser session as stored: never the cookie, only its hash (the key), whose account,
/// the CSRF token its forms carry, and when it began and was last used (for the absolute and
/// idle expiry).
public struct SessionRecord: Sendable, Equatable {
    public var account, csrf: String
    public var createdAt, seenAt: Instant

    public init(account: String, csrf: String, createdAt: Instant, seenAt: Instant) {
        self.account = account; self.csrf = csrf; self.createdAt = createdAt; self.seenAt = seenAt
    }
}
