/// Everything a request can ask of a node, one case per route (several routes may share one
/// when they are the same act). The authorization policy decides on these, so a route that
/// names no operation cannot be registered.
public enum AccessOperation: String, CaseIterable, Sendable {
    case createTicket, listTickets, readTicket, updateTicket, commentTicket, changeLine, assignTicket
    case applyMacro, readAudit
    case listAgents, readAgent, putAgent, setPresence, agentTickets
    case listQueues, readQueue
    case readWorkflow, replaceWorkflow
    case readCluster, readMetrics, viewDashboard
    case listUsers, createUser, updateUser, listTokens, createToken, revokeToken, readSecurityLog
    /// Liveness: open to anyone, with or without an identity.
    case health
}
