import Foundation

/// The host a webhook URL names, as the checks compare it.
public enum WebhookHost {
    /// The URL's host, percent-decoded; nil when it has none.
    public static func of(_ url: String) -> String? {
        guard let host = URL(string: url)?.host, !host.isEmpty else { return nil }
        return host.removingPercentEncoding ?? host
    }

    /// Lower case, without brackets or trailing dots: how allow-list entries and hosts are compared.
    public static func normalized(_ host: String) -> String {
        var h = host.lowercased()
        if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        while h.hasSuffix(".") { h.removeLast() }
        return h
    }
}
