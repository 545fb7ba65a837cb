import Foundation
import TicketflowCore
import TicketflowWorkflow

/// Checked before every delivery: every address the webhook's host resolves to must be
/// outside the network, unless the node's configuration admits the host. (The workflow
/// check refuses internal address literals; this catches names that resolve inside, and
/// names whose answers changed since.) Redirects are never followed, so a checked target
/// cannot send the request elsewhere.
struct WebhookGuard: Sendable {
    let allowed: Set<String>

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    func check(_ url: String) async throws {
        guard let host = WebhookHost.of(url) else { throw Refused(description: "webhook \(url) has no host") }
        if allowed.contains(WebhookHost.normalized(host)) { return }
        if InternalAddress.isInternal(host: host) {
            throw Refused(description: "webhook host \(host) is inside the network; refused (admit it with --allow-webhook-host)")
        }
        let addresses = try await Self.resolve(host)
        if let inside = addresses.first(where: { InternalAddress.isInternal(host: $0) }) {
            throw Refused(description: "webhook host \(host) resolves to \(inside), inside the network; refused (admit it with --allow-webhook-host)")
        }
    }

    /// Every address a name resolves to (getaddrinfo, on a thread of its own: it blocks).
    static func resolve(_ host: String) async throws -> [String] {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var list: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, nil, &hints, &list)
                guard status == 0 else {
                    continuation.resume(throwing: Refused(description: "webhook host \(host) does not resolve: \(String(cString: gai_strerror(status)))"))
                    return
                }
                defer { freeaddrinfo(list) }
                var out: [String] = []
                var cursor = list
                while let info = cursor?.pointee {
                    var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                    if getnameinfo(info.ai_addr, info.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                        out.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
                    }
                    cursor = info.ai_next
                }
                continuation.resume(returning: out)
            }
        }
    }
}
