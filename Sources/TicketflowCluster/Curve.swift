import CZeroMQ
import Foundation

/// A CurveZMQ key pair, each key Z85-encoded (40 characters). The secret key never leaves the
/// node's data directory (`curve.key`, readable by its owner only); the public key is listed
/// in the cluster file so every peer knows whom to admit.
public struct CurveKeyPair: Sendable, Equatable {
    public var publicKey: String
    public var secretKey: String

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// A fresh pair from libzmq (libsodium's randomness).
    public static func generate() throws -> CurveKeyPair {
        var publicKey = [CChar](repeating: 0, count: 41), secretKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicKey, &secretKey) == 0 else { throw ZMQError.last("zmq_curve_keypair") }
        return CurveKeyPair(publicKey: string(publicKey), secretKey: string(secretKey))
    }

    /// The pair of a secret key, its public key derived (so a pair read from disk is whole).
    public init(secretKey: String) throws {
        guard Self.isKey(secretKey) else { throw Invalid(description: "not a CurveZMQ key (40 Z85 characters)") }
        var publicKey = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&publicKey, secretKey) == 0 else { throw ZMQError.last("zmq_curve_public") }
        self.init(publicKey: Self.string(publicKey), secretKey: secretKey)
    }

    public init(publicKey: String, secretKey: String) { self.publicKey = publicKey; self.secretKey = secretKey }

    /// Whether `text` is a Z85-encoded 32-byte key.
    public static func isKey(_ text: String) -> Bool { binary(text) != nil }

    /// The 32 bytes of a Z85 key (what a ZAP request carries), nil if it is not one.
    static func binary(_ text: String) -> [UInt8]? {
        guard text.utf8.count == 40 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        return zmq_z85_decode(&out, text) == nil ? nil : out
    }

    private static func string(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// How a node's links to its peers are secured.
public enum LinkSecurity: Sendable {
    /// Plain text: anyone who reaches the port can talk (only with `insecure: true`).
    case plain
    /// CurveZMQ: encrypted, and a peer is admitted only with one of the listed public keys
    /// (node name → key), checked by a ZAP handler.
    case curve(own: CurveKeyPair, peers: [String: String])
}
