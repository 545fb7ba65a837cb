import Foundation
import Crypto
import HummingbirdBcrypt
import TicketflowCore
import TicketflowStorage

/// Browser sign-in: passwords checked with bcrypt, sessions kept in SQLite by the SHA-256 of
/// their cookie, each with the CSRF token its forms must carry.
extension AccessControl {
    /// bcrypt's cost: 2^10 rounds, about 60 ms here — paid at sign-in only.
    static let bcryptCost: UInt8 = 10
    /// A session ends after this long without a request …
    static let sessionIdle = TimeSpan.minutes(30)
    /// … and after this long in any case.
    static let sessionLifetime = TimeSpan.hours(12)
    /// Longest password accepted, in characters. bcrypt reads at most 72 bytes, so it is given
    /// the password's SHA-256 in hex (64 bytes): every character of a long passphrase counts.
    static let passwordLength = 200

    public struct SignedIn: Sendable {
        /// The cookie's value: shown to the browser only.
        public var cookie: String
        public var identity: Identity
    }

    public enum SignInError: Error, Equatable {
        /// Wrong e-mail or password, or a deactivated account: one answer for all.
        case refused
        /// Too many failures for this account or address; try again then.
        case throttled(until: Instant)
    }

    static func hashPassword(_ password: String) -> String { Bcrypt.hash(prehashed(password), cost: bcryptCost) }

    private static func prehashed(_ password: String) -> String {
        SHA256.hash(data: Data(password.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Checks an e-mail address and password; a new session on success. Every attempt is in
    /// the security log; failures count towards the throttle of the account and the address.
    public func signIn(email: String, password: String, address: String?) throws -> SignedIn {
        let now = clock.now()
        let keys = ["email:" + email.lowercased()] + (address.map { ["address:" + $0] } ?? [])
        if let until = throttle.withLock({ t in keys.compactMap { t.retryAt($0, now: now) }.max() }) {
            throw SignInError.throttled(until: until)
        }
        guard password.count <= Self.passwordLength, let (account, hash) = try store.signInRecord(email: email),
              account.active, let hash, Bcrypt.verify(Self.prehashed(password), hash: hash) else {
            throttle.withLock { t in for key in keys { t.failed(key, at: now) } }
            try store.log(SecurityEntry(at: now, actor: "-", action: .loginFailed, subject: email, address: address))
            throw SignInError.refused
        }
        throttle.withLock { t in for key in keys { t.succeeded(key) } }
        let cookie = TokenSecret.generate()
        let session = SessionRecord(account: account.id, csrf: TokenSecret.generate(), createdAt: now, seenAt: now)
        try store.addSession(session, hash: TokenSecret.hash(cookie),
                             log: SecurityEntry(at: now, actor: account.id, action: .loginSucceeded, subject: account.id, address: address))
        return SignedIn(cookie: cookie, identity: account.identity)
    }

    /// The identity and CSRF token of a live session; nil for an unknown, expired or idle one,
    /// or one whose account was deactivated. Using a session keeps it alive.
    public func session(cookie: String) throws -> (identity: Identity, csrf: String)? {
        guard cookie.count <= TokenSecret.maxLength else { return nil }
        let hash = TokenSecret.hash(cookie)
        let now = clock.now()
        guard let (session, account) = try store.session(hash: hash) else { return nil }
        guard account.active, now - session.createdAt < Self.sessionLifetime, now - session.seenAt < Self.sessionIdle else {
            try store.endSession(hash: hash)
            return nil
        }
        // Written at most once a minute per session, so browsing is not a stream of writes.
        if now - session.seenAt >= .minutes(1) { try store.touchSession(hash: hash, at: now) }
        return (account.identity, session.csrf)
    }

    public func signOut(cookie: String, identity: Identity?, address: String?) throws {
        try store.endSession(hash: TokenSecret.hash(cookie))
        if let identity {
            try store.log(SecurityEntry(at: clock.now(), actor: identity.account, action: .logout, subject: identity.account, address: address))
        }
    }
}
