/// `GET /api/v1/workflow`.
public struct WorkflowView: Codable, Sendable, Equatable {
    public var name: String
    /// The workflow file's `version`; every event records `label` (`name@version`).
    public var version: String
    public var label: String
    /// The YAML text in force, as it was put or read from the file.
    public var source: String
    /// Escalation lines in order, each with its queue.
    public var lines: [LineView]
    public var statuses: [String]

    public init(name: String, version: String, label: String, source: String, lines: [LineView], statuses: [String]) {
        self.name = name; self.version = version; self.label = label; self.source = source; self.lines = lines; self.statuses = statuses
    }
}

public struct LineView: Codable, Sendable, Equatable {
    public var name, queue: String
    public init(name: String, queue: String) { self.name = name; self.queue = queue }
}

/// `PUT /api/v1/workflow`: the new workflow's label and the checker's warnings.
public struct WorkflowReplaced: Codable, Sendable, Equatable {
    public var label: String
    public var warnings: [String]
    public init(label: String, warnings: [String]) { self.label = label; self.warnings = warnings }
}

/// Every error answer: `{"error": {"code", "message", "details"?}}`.
public struct ErrorBody: Codable, Sendable, Equatable {
    public var error: Detail

    public struct Detail: Codable, Sendable, Equatable {
        public var code: String
        public var message: String
        @OmittedWhenNil public var details: [String]?
        public init(code: String, message: String, details: [String]? = nil) { self.code = code; self.message = message; self.details = details }
    }

    public init(code: String, message: String, details: [String]? = nil) {
        error = Detail(code: code, message: message, details: details)
    }
}

/// `GET /healthz`.
public struct Health: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case ok, failed }
    public var status: Status
    public var workflow: String
    public init(status: Status, workflow: String) { self.status = status; self.workflow = workflow }
}

/// `GET /readyz`: whether the node can serve every request now. A single node is ready once
/// started; a cluster member once it has heard every peer that is up (a peer silent since the
/// node started, past the liveness window, counts as down, not awaited).
public struct Readiness: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case ready, notReady = "not_ready" }
    public var status: Status
    /// The peers not heard from yet.
    public var waitingFor: [String]
    public init(status: Status, waitingFor: [String] = []) { self.status = status; self.waitingFor = waitingFor }
    enum CodingKeys: String, CodingKey { case status, waitingFor = "waiting_for" }
}

/// What a node reports of itself to its peers (and in `GET /api/v1/cluster`).
public struct NodeLoad: Codable, Sendable, Equatable {
    /// Tickets in memory (the rest are passivated, on disk until needed); SLA, automation and
    /// follow-up timers waiting to fire; agents kept here (the cluster's on the routing owner,
    /// none elsewhere).
    public var activeTickets, pendingTimers, agents: Int
    /// False once a commit failed and the node stopped taking work.
    public var healthy: Bool

    public init(activeTickets: Int, pendingTimers: Int, agents: Int, healthy: Bool) {
        self.activeTickets = activeTickets; self.pendingTimers = pendingTimers; self.agents = agents; self.healthy = healthy
    }

    enum CodingKeys: String, CodingKey { case activeTickets = "active_tickets", pendingTimers = "pending_timers", agents, healthy }
}

/// `GET /api/v1/cluster`: membership, liveness, load and the partition map.
public struct ClusterView: Codable, Sendable, Equatable {
    public var node: String
    public var partitions: Int
    public var routingOwner: String
    public var members: [MemberView]
    public var partitionMap: [String]
    public var forwardedRequests: Int
    public var servedForPeers: Int
    public var malformedFrames: Int
    /// Each node's partition: its replicas and who leads it now (empty without replication).
    public var replication: [ReplicaGroupView]

    public init(node: String, partitions: Int, routingOwner: String, members: [MemberView], partitionMap: [String],
                forwardedRequests: Int, servedForPeers: Int, malformedFrames: Int, replication: [ReplicaGroupView] = []) {
        self.node = node; self.partitions = partitions; self.routingOwner = routingOwner; self.members = members
        self.partitionMap = partitionMap; self.forwardedRequests = forwardedRequests; self.servedForPeers = servedForPeers
        self.malformedFrames = malformedFrames; self.replication = replication
    }

    enum CodingKeys: String, CodingKey {
        case node, partitions, routingOwner = "routing_owner", members, partitionMap = "partition_map"
        case forwardedRequests = "forwarded_requests", servedForPeers = "served_for_peers", malformedFrames = "malformed_frames"
        case replication
    }
}

/// A node's partition in a replicated cluster, as this node knows it.
public struct ReplicaGroupView: Codable, Sendable, Equatable {
    /// The partition, named after its home node.
    public var partition: String
    /// The nodes holding a replica, the home node first.
    public var replicas: [String]
    /// The node leading it now, and its epoch; nil while no leader is known (an election).
    public var leader: String?
    public var epoch: Int64?
    /// Where this node's replica stands in the partition's log (`index@epoch`).
    public var position: String?
    /// A node catching up to join the replicas (while its leader moves them), if any.
    public var learner: String?

    public init(partition: String, replicas: [String], leader: String?, epoch: Int64?, position: String?, learner: String? = nil) {
        self.partition = partition; self.replicas = replicas; self.leader = leader; self.epoch = epoch; self.position = position
        self.learner = learner
    }
}

public struct MemberView: Codable, Sendable, Equatable {
    public var name: String
    public var http: String
    public var zmq: String
    public var alive: Bool
    public var lastHeardMsAgo: Int?
    public var partitions: Int
    /// Nil when the member did not answer.
    public var load: NodeLoad?

    public init(name: String, http: String, zmq: String, alive: Bool, lastHeardMsAgo: Int?, partitions: Int, load: NodeLoad?) {
        self.name = name; self.http = http; self.zmq = zmq; self.alive = alive; self.lastHeardMsAgo = lastHeardMsAgo
        self.partitions = partitions; self.load = load
    }

    enum CodingKeys: String, CodingKey { case name, http, zmq, alive, lastHeardMsAgo = "last_heard_ms_ago", partitions, load }
}

/// What a webhook receives for each notification (`POST`, with the notification id as
/// `Idempotency-Key`: delivery is at least once).
public struct WebhookPayload: Codable, Sendable, Equatable {
    public var id, ticket, recipient, template, body: String

    public init(id: String, ticket: String, recipient: String, template: String, body: String) {
        self.id = id; self.ticket = ticket; self.recipient = recipient; self.template = template; self.body = body
    }
}

/// `GET /api/v1/macros`: the workflow's macros, by name, with the placeholders their comments
/// fill in (so an agent sees what a macro will say before applying it).
public struct MacroList: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var placeholders: [String]
        public init(name: String, placeholders: [String]) { self.name = name; self.placeholders = placeholders }
    }
    public var macros: [Entry]
    public init(macros: [Entry]) { self.macros = macros }
}
