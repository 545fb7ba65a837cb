import Foundation
import Synchronization
import TicketflowCore
import TicketflowRuntime
import TicketflowStorage

/// Accounts and tokens of a node: authenticates bearer tokens (with a small cache, so a
/// request costs a hash and a dictionary lookup, not a SQLite read) and performs the account
/// changes the user routes ask for, each recorded in the security log.
///
/// Revocation and deactivation take effect on this node at once (the cache is emptied); an
/// entry is trusted for at most `cacheLife` in any case.
public final class AccessControl: Sendable {
    let store: Store
    let clock: any Clock
    /// How long a cached token answer is trusted.
    static let cacheLife = TimeSpan.seconds(1)
    /// At most this many tokens are cached; past it the cache starts again empty.
    static let cacheLimit = 10_000

    private struct Cached: Sendable {
        let identity: Identity?
        let until: Instant
    }
    private let cache = Mutex<[Data: Cached]>([:])
    let throttle = Mutex(LoginThrottle())
    /// API calls per account and second (nil: unlimited).
    private let limiter: Mutex<RateLimiter?>

    public init(store: Store, clock: any Clock, rateLimit: Double? = nil) {
        self.store = store
        self.clock = clock
        limiter = Mutex(rateLimit.map { RateLimiter(rate: $0, burst: 2 * $0) })
    }

    /// Counts one API call of `identity`; how long to wait when it is over its rate.
    func overRate(_ identity: Identity) -> TimeSpan? {
        let now = clock.now()
        return limiter.withLock { $0?.take(identity.account, at: now) }
    }

    public enum AuthenticationError: Error, Equatable {
        /// The token is unknown, expired, revoked or its account is deactivated: one answer for
        /// all, so a caller learns nothing about which.
        case invalidToken
    }

    /// The identity a bearer token stands for.
    public func authenticate(token: String) throws -> Identity {
        guard token.count <= TokenSecret.maxLength else { throw AuthenticationError.invalidToken }
        let hash = TokenSecret.hash(token)
        let now = clock.now()
        if let hit = cache.withLock({ $0[hash] }), now < hit.until {
            guard let identity = hit.identity else { throw AuthenticationError.invalidToken }
            return identity
        }
        var identity: Identity?
        if let (record, account) = try store.token(hash: hash), record.isValid(at: now), account.active {
            identity = account.identity
        }
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[hash] = Cached(identity: identity, until: now + Self.cacheLife)
        }
        guard let identity else { throw AuthenticationError.invalidToken }
        return identity
    }

    /// Forgets every cached answer: after a revocation, deactivation or role change.
    func forgetCachedTokens() { cache.withLock { $0.removeAll() } }

    /// After a change to an account (role, deactivation, password): cached token answers are
    /// forgotten and its browser sessions end, so the change holds at once.
    func accountChanged(_ id: String) throws {
        forgetCachedTokens()
        try store.endSessions(of: id)
    }

    // MARK: First start

    /// On a data directory without accounts, creates the first admin with `token` (from
    /// `TICKETFLOW_ADMIN_TOKEN`) or a random one, and returns the token when it was generated
    /// (for the caller to print once to the terminal — never to a log). Otherwise makes sure
    /// a given `token` still signs the admin in (so a restart with the same environment works).
    public func bootstrap(adminToken token: String?, adminPassword: String? = nil) throws -> String? {
        guard try store.accountCount() == 0 else {
            if let token {
                let hash = TokenSecret.hash(token)
                if try store.token(hash: hash) == nil {
                    // A new TICKETFLOW_ADMIN_TOKEN on an existing directory: it becomes a token of
                    // the first admin, so operators can rotate it through the environment.
                    guard let admin = try store.accounts(after: "", limit: 1_000).first(where: { $0.role == .admin && $0.active }) else {
                        throw AccessError.noAdmin
                    }
                    let record = TokenRecord(id: TokenSecret.id("tok"), account: admin.id, label: "TICKETFLOW_ADMIN_TOKEN", createdAt: clock.now())
                    try store.addToken(record, hash: hash, log: SecurityEntry(at: clock.now(), actor: "-", action: .tokenCreated,
                                                                              subject: record.id, address: "environment"))
                }
            }
            return nil
        }
        let secret = token ?? TokenSecret.generate()
        let now = clock.now()
        let admin = Account(id: "admin", name: "Administrator", email: "admin@localhost", role: .admin, createdAt: now)
        let record = TokenRecord(id: TokenSecret.id("tok"), account: admin.id, label: "first start", createdAt: now)
        try store.addAccount(admin, token: (record, TokenSecret.hash(secret)),
                             log: SecurityEntry(at: now, actor: "-", action: .adminCreated, subject: admin.id, address: nil))
        if let adminPassword { try store.setPassword(of: admin.id, hash: Self.hashPassword(adminPassword)) }
        return token == nil ? secret : nil
    }

    public enum AccessError: Error, CustomStringConvertible {
        case noAdmin
        public var description: String {
            "TICKETFLOW_ADMIN_TOKEN is set but the data directory has no active admin to give it to"
        }
    }
}
