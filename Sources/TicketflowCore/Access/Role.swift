/// What an account is, and so what it may do (`AccessPolicy`). One role per account.
public enum Role: String, Codable, CaseIterable, Sendable {
    /// A customer: sees and acts on the tickets whose requester email is theirs, through the
    /// requester view only.
    case requester
    /// Works tickets on a line; tied to the engine's agent record of the same id.
    case agent
    /// Sees everything, reassigns, manages agents, reads metrics and the dashboard.
    case supervisor
    /// Everything, including users, tokens, the workflow and the security log.
    case admin
    /// An integration (a storm client, a mail gateway): what its scopes name, nothing more.
    case service
}

/// What a service account may do; each operation names the scope that admits it.
public enum Scope: String, Codable, CaseIterable, Sendable {
    /// Read tickets, queues and agents.
    case read = "tickets:read"
    /// Create tickets and work them (update, comment, escalate, assign, macros).
    case write = "tickets:write"
    /// Register agents and set their presence.
    case agents = "agents:write"
    /// Read `/metrics`.
    case metrics = "metrics:read"
}

/// Who makes a request, as authentication found it: the account behind a token or a session.
public struct Identity: Sendable, Equatable, Codable {
    public var account: String
    public var name: String
    public var email: String
    public var role: Role
    /// Scopes of a service account; empty for every other role.
    public var scopes: Set<Scope>

    public init(account: String, name: String, email: String, role: Role, scopes: Set<Scope> = []) {
        self.account = account; self.name = name; self.email = email; self.role = role; self.scopes = scopes
    }
}
