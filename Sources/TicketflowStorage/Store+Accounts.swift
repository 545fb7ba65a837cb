import Foundation
import GRDB
import TicketflowCore

/// Accounts, API token hashes and the security log, in the node's SQLite beside the tickets.
/// These are written at once (not through group commit): they are rare, and an answer that
/// shows a new token must only be sent once its hash is on disk.
extension Store {
    static func registerAccountMigrations(_ m: inout DatabaseMigrator) {
        m.registerMigration("v6-accounts") { db in
            try db.execute(sql: """
                CREATE TABLE account (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL COLLATE NOCASE UNIQUE,
                                      role TEXT NOT NULL, line TEXT, scopes TEXT NOT NULL, active INTEGER NOT NULL,
                                      created INTEGER NOT NULL);
                CREATE TABLE api_token (id TEXT PRIMARY KEY, account TEXT NOT NULL REFERENCES account(id), hash BLOB NOT NULL UNIQUE,
                                        label TEXT NOT NULL, created INTEGER NOT NULL, expires INTEGER, revoked INTEGER);
                CREATE INDEX api_token_account ON api_token(account);
                CREATE TABLE security_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
                                           action TEXT NOT NULL, subject TEXT NOT NULL, address TEXT);
                ALTER TABLE ticket ADD COLUMN requester TEXT;
                """)
            // A requester lists their own tickets by e-mail address (kept lower-case): filled in
            // for the tickets already stored, from their snapshots.
            let rows = try Row.fetchAll(db, sql: "SELECT id, body FROM ticket")
            for row in rows {
                let ticket = try Blob.ticket(row["body"])
                try db.execute(sql: "UPDATE ticket SET requester = ? WHERE id = ?", arguments: [ticket.requester.email.lowercased(), ticket.id])
            }
            try db.execute(sql: "CREATE INDEX ticket_requester ON ticket(requester, number)")
        }
        // Browser sign-in: a bcrypt password per account, sessions by the SHA-256 of their cookie.
        m.registerMigration("v7-sessions") { db in
            try db.execute(sql: """
                ALTER TABLE account ADD COLUMN password TEXT;
                CREATE TABLE session (hash BLOB PRIMARY KEY, account TEXT NOT NULL REFERENCES account(id), csrf TEXT NOT NULL,
                                      created INTEGER NOT NULL, seen INTEGER NOT NULL);
                CREATE INDEX session_account ON session(account);
                """)
        }
    }

    public enum AccountError: Error, Equatable {
        case emailTaken(String)
        case unknownAccount(String)
    }

    public func accountCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM account") ?? 0 }
    }

    /// Adds an account and, if given, a token for it, with the log entry, in one transaction.
    public func addAccount(_ account: Account, token: (TokenRecord, hash: Data)?, log: SecurityEntry) throws {
        try pool.write { db in
            let taken = try Bool.fetchOne(db, sql: "SELECT 1 FROM account WHERE email = ?", arguments: [account.email]) ?? false
            if taken { throw AccountError.emailTaken(account.email) }
            try db.execute(sql: "INSERT INTO account (id, name, email, role, line, scopes, active, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: Self.columns(account))
            if let (record, hash) = token { try Self.insert(record, hash: hash, db) }
            try Self.insert(log, db)
        }
    }

    /// Replaces an account's name, role, line, scopes and active flag.
    public func updateAccount(_ account: Account, log: [SecurityEntry]) throws {
        try pool.write { db in
            let other = try String.fetchOne(db, sql: "SELECT id FROM account WHERE email = ? AND id != ?", arguments: [account.email, account.id])
            if other != nil { throw AccountError.emailTaken(account.email) }
            try db.execute(sql: "UPDATE account SET name = ?, email = ?, role = ?, line = ?, scopes = ?, active = ? WHERE id = ?",
                           arguments: [account.name, account.email, account.role.rawValue, account.line,
                                       Self.scopeText(account.scopes), account.active, account.id])
            guard db.changesCount == 1 else { throw AccountError.unknownAccount(account.id) }
            for entry in log { try Self.insert(entry, db) }
        }
    }

    public func account(_ id: String) throws -> Account? {
        try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM account WHERE id = ?", arguments: [id]).map(Self.account) }
    }

    /// Accounts by id, `limit` at most, after `after` (keyset paging).
    public func accounts(after: String, limit: Int) throws -> [Account] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM account WHERE id > ? ORDER BY id LIMIT ?", arguments: [after, limit]).map(Self.account)
        }
    }

    public func addToken(_ record: TokenRecord, hash: Data, log: SecurityEntry) throws {
        try pool.write { db in
            try Self.insert(record, hash: hash, db)
            try Self.insert(log, db)
        }
    }

    /// The token with this hash and its account, whatever their state (the caller checks
    /// expiry, revocation and whether the account is active).
    public func token(hash: Data) throws -> (TokenRecord, Account)? {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM api_token WHERE hash = ?", arguments: [hash]) else { return nil }
            let record = Self.token(row)
            guard let account = try Row.fetchOne(db, sql: "SELECT * FROM account WHERE id = ?", arguments: [record.account]).map(Self.account)
            else { throw StoreError.corrupt("token \(record.id) names no account") }
            return (record, account)
        }
    }

    public func tokens(of account: String) throws -> [TokenRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_token WHERE account = ? ORDER BY created, id", arguments: [account]).map(Self.token)
        }
    }

    public func tokenRecord(_ id: String) throws -> TokenRecord? {
        try pool.read { db in try Row.fetchOne(db, sql: "SELECT * FROM api_token WHERE id = ?", arguments: [id]).map(Self.token) }
    }

    /// Marks a token revoked (once; a second revocation keeps the first instant).
    public func revokeToken(_ id: String, at: Instant, log: SecurityEntry) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE api_token SET revoked = COALESCE(revoked, ?) WHERE id = ?", arguments: [at.millis, id])
            try Self.insert(log, db)
        }
    }

    // MARK: Passwords and sessions

    /// Sets (or with nil, removes) an account's bcrypt password hash; its sessions end.
    public func setPassword(of account: String, hash: String?) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE account SET password = ? WHERE id = ?", arguments: [hash, account])
            guard db.changesCount == 1 else { throw AccountError.unknownAccount(account) }
            try db.execute(sql: "DELETE FROM session WHERE account = ?", arguments: [account])
        }
    }

    /// The account with this e-mail address and its password hash, if it has one.
    public func signInRecord(email: String) throws -> (Account, passwordHash: String?)? {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM account WHERE email = ?", arguments: [email]) else { return nil }
            return (try Self.account(row), row["password"])
        }
    }

    public func addSession(_ session: SessionRecord, hash: Data, log: SecurityEntry) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT INTO session (hash, account, csrf, created, seen) VALUES (?, ?, ?, ?, ?)",
                           arguments: [hash, session.account, session.csrf, session.createdAt.millis, session.seenAt.millis])
            try Self.insert(log, db)
        }
    }

    /// The session with this cookie hash and its account.
    public func session(hash: Data) throws -> (SessionRecord, Account)? {
        try pool.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM session WHERE hash = ?", arguments: [hash]) else { return nil }
            let session = SessionRecord(account: row["account"], csrf: row["csrf"], createdAt: Instant(millis: row["created"]),
                                        seenAt: Instant(millis: row["seen"]))
            guard let account = try Row.fetchOne(db, sql: "SELECT * FROM account WHERE id = ?", arguments: [session.account]).map(Self.account)
            else { throw StoreError.corrupt("a session names no account") }
            return (session, account)
        }
    }

    public func touchSession(hash: Data, at: Instant) throws {
        try pool.write { db in try db.execute(sql: "UPDATE session SET seen = ? WHERE hash = ?", arguments: [at.millis, hash]) }
    }

    public func endSession(hash: Data) throws {
        try pool.write { db in try db.execute(sql: "DELETE FROM session WHERE hash = ?", arguments: [hash]) }
    }

    /// Ends every session of an account (deactivated, role changed, password changed).
    public func endSessions(of account: String) throws {
        try pool.write { db in try db.execute(sql: "DELETE FROM session WHERE account = ?", arguments: [account]) }
    }

    public func log(_ entry: SecurityEntry) throws {
        try pool.write { db in try Self.insert(entry, db) }
    }

    /// The newest entries first, at most `limit`, before sequence `before`.
    public func securityLog(before: Int64, limit: Int) throws -> [(seq: Int64, entry: SecurityEntry)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM security_log WHERE seq < ? ORDER BY seq DESC LIMIT ?", arguments: [before, limit]).map { row in
                guard let action = SecurityEntry.Action(rawValue: row["action"]) else { throw StoreError.corrupt("security log action \(row["action"] as String)") }
                return (row["seq"], SecurityEntry(at: Instant(millis: row["at"]), actor: row["actor"], action: action,
                                                  subject: row["subject"], address: row["address"]))
            }
        }
    }

    // MARK: Rows

    private static func columns(_ a: Account) -> StatementArguments {
        [a.id, a.name, a.email, a.role.rawValue, a.line, scopeText(a.scopes), a.active, a.createdAt.millis]
    }

    private static func scopeText(_ scopes: Set<Scope>) -> String { scopes.map(\.rawValue).sorted().joined(separator: " ") }

    private static func account(_ row: Row) throws -> Account {
        let id: String = row["id"]
        guard let role = Role(rawValue: row["role"]) else { throw StoreError.corrupt("account \(id): role \(row["role"] as String)") }
        var scopes: Set<Scope> = []
        for name in (row["scopes"] as String).split(separator: " ") {
            guard let scope = Scope(rawValue: String(name)) else { throw StoreError.corrupt("account \(id): scope \(name)") }
            scopes.insert(scope)
        }
        return Account(id: id, name: row["name"], email: row["email"], role: role, line: row["line"], scopes: scopes,
                       active: row["active"], createdAt: Instant(millis: row["created"]))
    }

    private static func token(_ row: Row) -> TokenRecord {
        TokenRecord(id: row["id"], account: row["account"], label: row["label"], createdAt: Instant(millis: row["created"]),
                    expiresAt: (row["expires"] as Int64?).map(Instant.init(millis:)),
                    revokedAt: (row["revoked"] as Int64?).map(Instant.init(millis:)))
    }

    private static func insert(_ t: TokenRecord, hash: Data, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO api_token (id, account, hash, label, created, expires, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       arguments: [t.id, t.account, hash, t.label, t.createdAt.millis, t.expiresAt?.millis, t.revokedAt?.millis])
    }

    private static func insert(_ e: SecurityEntry, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO security_log (at, actor, action, subject, address) VALUES (?, ?, ?, ?, ?)",
                       arguments: [e.at.millis, e.actor, e.action.rawValue, e.subject, e.address])
    }
}

extension Store {
    /// Tables that belong to the node, not to its partition's replicated log: users, tokens,
    /// sessions and the security log. Every node keeps its own (changes to them go to every
    /// node), so a copy of another node's store must not replace them.
    static let nodeTables = ["account", "api_token", "session", "security_log"]

    /// Puts this node's accounts, tokens, sessions and security log from the store at `path`
    /// into the copy at `copy`, which is about to replace it (a partition handed back).
    public static func carryNodeTables(from path: String, into copy: String) throws {
        try carry(nodeTables, from: path, into: copy)
    }

    /// What a node added to a running cluster starts from (docs/replication.md, "Changing the
    /// nodes"): the users, their tokens and sessions, and the workflows activated, as a peer
    /// holds them — the security log stays the peer's own.
    static let seedTables = ["account", "api_token", "session", "workflow"]

    /// Writes the seed tables of the store at `path` into a new file at `export` (read through
    /// a connection of its own: the store's node writes on meanwhile).
    public static func exportSeed(from path: String, to export: String) throws {
        try? FileManager.default.removeItem(atPath: export)   // a leftover of an earlier export, if any
        let target = try DatabaseQueue(path: export)
        try target.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS source", arguments: [path])
            try db.inTransaction {
                for table in seedTables { try db.execute(sql: "CREATE TABLE main.\(table) AS SELECT * FROM source.\(table)") }
                return .commit
            }
            try db.execute(sql: "DETACH DATABASE source")
        }
        try target.close()
    }

    /// Puts an export's seed tables into the store at `path` (a new one, before its node opens).
    public static func importSeed(from export: String, into path: String) throws {
        try carry(seedTables, from: export, into: path)
    }

    private static func carry(_ tables: [String], from path: String, into copy: String) throws {
        let target = try DatabaseQueue(path: copy)
        try target.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS previous", arguments: [path])
            try db.inTransaction {
                for table in tables {
                    try db.execute(sql: "DELETE FROM main.\(table)")
                    try db.execute(sql: "INSERT INTO main.\(table) SELECT * FROM previous.\(table)")
                }
                return .commit
            }
            try db.execute(sql: "DETACH DATABASE previous")
        }
        try target.close()
    }
}
