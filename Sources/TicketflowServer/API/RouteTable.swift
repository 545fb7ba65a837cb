import HTTPTypes
import TicketflowCore

/// Where a route's work is done in a cluster; a node running alone does everything itself.
public enum Placement: Sendable, Equatable {
    /// This node answers (health, metrics, the dashboard, cluster views).
    case here
    /// The owner of the ticket named by the path's `:id`.
    case ticket
    /// A new ticket: the owner of its `Idempotency-Key`'s partition, or any live node.
    case create
    /// The routing owner, which keeps the agents.
    case agents
    /// Every live node, answers merged into one.
    case gather(View)
    /// Applied on every node, or refused (the workflow).
    case everyNode

    public enum View: Sendable, Equatable { case tickets, queues, queue }
}

/// A route: method, path pattern (`:name` segments match one segment), placement and the
/// operation the authorization policy decides on. The router registers routes from these,
/// the cluster sends requests by the same entries and `AuthorizationMiddleware` refuses any
/// request that none of them matches, so the table is written once and nothing bypasses it.
public struct RouteShape: Sendable, Equatable {
    public let method: HTTPRequest.Method
    public let path: String
    public let placement: Placement
    public let operation: AccessOperation

    public init(_ method: HTTPRequest.Method, _ path: String, _ placement: Placement, _ operation: AccessOperation) {
        self.method = method; self.path = path; self.placement = placement; self.operation = operation
    }

    /// The path's parameters when `requestPath` matches the pattern, nil otherwise.
    public func parameters(of requestPath: String) -> [String]? {
        let pattern = path.split(separator: "/")
        let actual = requestPath.split(separator: "/")
        guard pattern.count == actual.count else { return nil }
        var found: [String] = []
        for (p, a) in zip(pattern, actual) {
            if p.hasPrefix(":") { found.append(String(a)) } else if p != a { return nil }
        }
        return found
    }
}

/// The routes a node serves.
public struct RouteTable: Sendable {
    public let shapes: [RouteShape]

    public init(_ shapes: [RouteShape]) { self.shapes = shapes }

    /// The route a request takes, with its path parameters.
    public func route(_ method: HTTPRequest.Method, _ path: String) -> (shape: RouteShape, parameters: [String])? {
        for shape in shapes where shape.method == method {
            if let p = shape.parameters(of: path) { return (shape, p) }
        }
        return nil
    }

    /// The methods a path answers: the `Allow` header of a 405.
    public func methods(for path: String) -> [HTTPRequest.Method] {
        var out: [HTTPRequest.Method] = []
        for shape in shapes where shape.parameters(of: path) != nil && !out.contains(shape.method) { out.append(shape.method) }
        return out
    }
}
