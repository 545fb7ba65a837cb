/// The policy's matrix written out for people: docs/security.md carries this table, and a
/// test checks that it is exactly what `AccessPolicy` decides.
public enum AccessMatrix {
    /// One row an operation: what a requester, an agent, a supervisor and an admin get, and the
    /// scope a service account needs. `yes` everything, `own` own tickets only (requester view),
    /// `self` own record only, `—` refused (403; 401 without a token).
    public static func markdown() -> String {
        var lines = ["| operation | requester | agent | supervisor | admin | service needs |", "|---|---|---|---|---|---|"]
        for operation in AccessOperation.allCases {
            let cells = [Role.requester, .agent, .supervisor, .admin].map { role -> String in
                switch AccessPolicy.rule(operation, role) {
                case .everything?: return "yes"
                case .ownTickets?: return "own"
                case .onlySelf?: return "self"
                case nil: return "—"
                }
            }
            let scope = operation.isOpen || operation == .signOut ? "—"
                : (AccessPolicy.scope(for: operation).map { "`\($0.rawValue)`" } ?? "not allowed")
            lines.append("| `\(operation.rawValue)` | " + cells.joined(separator: " | ") + " | \(scope) |")
        }
        return lines.joined(separator: "\n")
    }
}
