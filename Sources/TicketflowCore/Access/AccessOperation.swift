/// Everything a request can ask of a node, one case per route (several routes may share one
/// when they are the same act). The authorization policy decides on these, so a route that
/// names no operation cannot be registered.
public enum AccessOperation: String, CaseIterable, Sendable {
    case createTicket, listTickets, readTicket, updateTicket, commentTicket, changeLine, assignTicket
    case applyMacro, listMacros, readAudit
    case listAgents, readAgent, putAgent, setPresence, agentTickets
    case listQueues, readQueue
    case readWorkflow, replaceWorkflow
    case readCluster, readMetrics, viewDashboard
    case listUsers, createUser, updateUser, listTokens, createToken, revokeToken, readSecurityLog
    /// The requester portal's pages (`portal`) and forms (`portalWrite`): requesters only.
    case portal, portalWrite
    /// Signing out of a browser session: anyone signed in.
    case signOut
    /// Liveness, the sign-in page and form, and static assets (style sheets, the dashboard's
    /// script): open to anyone, with or without an identity.
    case health, signIn, assets

    /// Open to anyone, without an identity.
    public var isOpen: Bool { self == .health || self == .signIn || self == .assets }
    /// Served to browsers as HTML or assets, not part of the JSON API (docs/openapi.yaml).
    public var isBrowser: Bool { [.viewDashboard, .portal, .portalWrite, .signIn, .signOut, .assets].contains(self) }
    /// A browser form: its CSRF token comes in the form body, checked by its handler.
    public var isBrowserForm: Bool { self == .portalWrite || self == .signIn || self == .signOut }
}
