/// The one authorization policy: who may do what. Every route passes through `decide` with
/// its operation before its handler runs; docs/security.md prints this matrix and a test
/// checks that the two agree and that every route the router knows is listed.
///
/// A pure function of (identity, operation): what a request then reaches is narrowed by the
/// returned `Reach` (a requester reaches only their own tickets, an agent only their own
/// presence), which the handlers apply.
public enum AccessPolicy {
    /// What an allowed request may reach.
    public enum Reach: Sendable, Equatable {
        /// Everything the operation names.
        case everything
        /// Only tickets whose requester email is this one, through the requester view; others
        /// answer 404 as if they did not exist.
        case ownTickets(email: String)
        /// Only the agent record (or account) with this id.
        case onlySelf(account: String)
    }

    public enum Decision: Sendable, Equatable {
        case allow(Reach)
        /// No identity where one is needed: 401.
        case unauthenticated
        /// An identity that may not do this: 403.
        case forbidden
    }

    /// The matrix: for each operation, what each role gets. Missing means forbidden.
    public static func rule(_ operation: AccessOperation, _ role: Role) -> Reach? {
        switch (operation, role) {
        case (.health, _), (.signIn, _), (.assets, _), (.signOut, _): return .everything
        case (.portal, .requester), (.portalWrite, .requester): return .own
        case (.portal, _), (.portalWrite, _): return nil
        case (.createTicket, .requester), (.listTickets, .requester), (.readTicket, .requester),
             (.commentTicket, .requester):
            return .own
        case (_, .admin): return .everything
        case (.setPresence, .agent), (.agentTickets, .agent): return .me
        case (.createTicket, .agent), (.listTickets, .agent), (.readTicket, .agent), (.updateTicket, .agent),
             (.commentTicket, .agent), (.changeLine, .agent), (.applyMacro, .agent), (.listMacros, .agent), (.readAudit, .agent),
             (.listAgents, .agent), (.readAgent, .agent), (.listQueues, .agent), (.readQueue, .agent),
             (.readWorkflow, .agent):
            return .everything
        case (.replaceWorkflow, .supervisor), (.listUsers, .supervisor), (.createUser, .supervisor), (.updateUser, .supervisor),
             (.listTokens, .supervisor), (.createToken, .supervisor), (.revokeToken, .supervisor), (.readSecurityLog, .supervisor):
            return nil
        case (_, .supervisor): return .everything
        case (_, .service): return scope(for: operation).map { _ in .everything }
        default: return nil
        }
    }

    /// The scope a service account needs for an operation; nil: no scope admits it.
    public static func scope(for operation: AccessOperation) -> Scope? {
        switch operation {
        case .listTickets, .readTicket, .readAudit, .listMacros, .listAgents, .readAgent, .agentTickets, .listQueues, .readQueue,
             .readWorkflow, .readCluster:
            return .read
        case .createTicket, .updateTicket, .commentTicket, .changeLine, .assignTicket, .applyMacro: return .write
        case .putAgent, .setPresence: return .agents
        case .readMetrics: return .metrics
        case .replaceWorkflow, .viewDashboard, .listUsers, .createUser, .updateUser, .listTokens, .createToken,
             .revokeToken, .readSecurityLog, .health, .portal, .portalWrite, .signIn, .signOut, .assets:
            return nil
        }
    }

    /// Decides one request.
    public static func decide(_ identity: Identity?, _ operation: AccessOperation) -> Decision {
        if operation.isOpen { return .allow(.everything) }
        guard let identity else { return .unauthenticated }
        if operation == .signOut { return .allow(.everything) }
        if identity.role == .service {
            guard let needed = scope(for: operation), identity.scopes.contains(needed) else { return .forbidden }
            return .allow(.everything)
        }
        switch rule(operation, identity.role) {
        case .everything?: return .allow(.everything)
        case .ownTickets?: return .allow(.ownTickets(email: identity.email))
        case .onlySelf?: return .allow(.onlySelf(account: identity.account))
        case nil: return .forbidden
        }
    }
}

private extension AccessPolicy.Reach {
    /// Placeholders in the matrix, filled with the identity by `decide`.
    static let own = AccessPolicy.Reach.ownTickets(email: "")
    static let me = AccessPolicy.Reach.onlySelf(account: "")
}
