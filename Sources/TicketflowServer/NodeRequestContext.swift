import Hummingbird
import Logging
import NIOCore
import TicketflowCore

/// What every request carries through the router: the core's storage (logger, path
/// parameters) and where it came from. A request forwarded by a peer node has no channel of
/// its own here, so the context is made from a logger alone — no testing channel stands in.
/// The caller's identity is put here by `AuthenticationMiddleware`, and what the policy lets
/// the request reach by the route's wrapper (`Routes.handler`).
public struct NodeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's address, when the request came in over a connection to this node.
    public let remoteAddress: SocketAddress?
    /// The peer node that forwarded the request, if one did.
    public let forwardedBy: String?
    /// Who asks; nil: nobody was identified (only open routes answer then).
    public var identity: Identity?
    /// What the authorization policy lets this request reach (set before the handler runs).
    public var reach: AccessPolicy.Reach = .everything
    /// The CSRF token of the browser session the request came with; nil for a token or nobody.
    public var csrf: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        forwardedBy = nil
    }

    /// A context for a request a peer node forwarded over the cluster's link.
    public init(forwardedBy peer: String, logger: Logger) {
        coreContext = .init(source: Forwarded(logger: logger))
        remoteAddress = nil
        forwardedBy = peer
    }

    struct Forwarded: RequestContextSource {
        let logger: Logger
    }
}
