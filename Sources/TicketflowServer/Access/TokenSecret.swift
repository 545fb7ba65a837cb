import Crypto
import Foundation

/// API tokens: 32 random bytes, shown once as `tf_` and URL-safe base64; stored only as
/// their SHA-256. A token carries 256 bits of entropy, so a fast hash is the right one (no
/// guessing to slow down); bcrypt is kept for passwords, which people choose.
enum TokenSecret {
    static let prefix = "tf_"
    /// Longest `Authorization` value looked at; a longer one is refused without hashing.
    static let maxLength = 200

    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return prefix + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func hash(_ token: String) -> Data { Data(SHA256.hash(data: Data(token.utf8))) }

    /// A short random id for tokens and accounts.
    static func id(_ kind: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return kind + "_" + String(UInt64.random(in: 0 ... .max, using: &generator), radix: 36)
    }
}
