import ArgumentParser
import Foundation
import Glibc
import Logging
import ServiceLifecycle
import TicketflowCluster
import TicketflowClusterHTTP
import TicketflowServer
import TicketflowStorage

/// `ticketflow serve`: one durable node with its HTTP API and dashboard.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a node: HTTP API, dashboard, SQLite journal.")

    @Option(help: "Workflow file used when the data directory has no workflow put over the API.")
    var workflow = "workflows/b2c-support.yaml"
    @Option(help: "Data directory (holds ticketflow.sqlite).") var data = "./data"
    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind (0 picks a free one and prints it).") var port = 8080
    @Option(help: "full: commits survive power loss (default); normal: they survive a process crash, faster.")
    var durability = Durability.full
    @Option(help: "Cluster file (cluster/local.yaml); with --node, run that member: its HTTP address and data directory come from the file.")
    var cluster: String?
    @Option(help: "This node's name in the cluster file.") var node: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error, critical") var logLevel = "info"
    @Flag(name: .customLong("metrics-open"), help: "Serve /metrics without a token (for a scraper on a trusted network).")
    var metricsOpen = false
    @Flag(name: .customLong("behind-tls"), help: "The node sits behind a TLS-terminating proxy: mark session cookies Secure.")
    var behindTLS = false
    @Option(name: .customLong("allow-webhook-host"), help: "A webhook host inside the network (loopback, private …) that workflows may deliver to; repeatable.")
    var allowWebhookHost: [String] = []
    @Option(name: .customLong("api-rate-limit"), help: "API calls per account and second, bursts of twice as many; 0: unlimited (default 1000, or $TICKETFLOW_API_RATE_LIMIT).")
    var apiRateLimit: Double?
    @Option(name: .customLong("connections-per-address"), help: "Open HTTP connections one client address may hold.")
    var connectionsPerAddress = 256
    @Option(name: .customLong("request-head-timeout"), help: "Seconds a connection has to send a request's head (and an idle one stays open).")
    var requestHeadTimeout = 10
    @Option(name: .customLong("request-timeout"), help: "Seconds a request has to arrive whole once its head is in.")
    var requestTimeout = 30

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        guard (cluster == nil) == (node == nil) else { throw ValidationError("--cluster and --node go together") }
    }

    func run() async throws {
        var logger = Logger(label: "ticketflow")
        logger.logLevel = Logger.Level(rawValue: logLevel)!
        var config = ServerConfiguration()
        config.host = host
        config.port = port
        config.dataDirectory = data
        config.workflowPath = workflow
        config.durability = durability
        config.metricsOpen = metricsOpen
        config.behindTLS = behindTLS
        config.allowedWebhookHosts = Set(allowWebhookHost)
        let rate = apiRateLimit ?? ProcessInfo.processInfo.environment["TICKETFLOW_API_RATE_LIMIT"].flatMap(Double.init) ?? 1_000
        guard rate >= 0, rate.isFinite else { throw ValidationError("--api-rate-limit must be 0 or more") }
        config.apiRateLimit = rate == 0 ? nil : rate
        guard connectionsPerAddress >= 1, requestHeadTimeout >= 1, requestTimeout >= 1 else {
            throw ValidationError("--connections-per-address, --request-head-timeout and --request-timeout must be 1 or more")
        }
        config.connections.perAddress = connectionsPerAddress
        config.connections.headTimeout = .seconds(Int64(requestHeadTimeout))
        config.connections.requestTimeout = .seconds(Int64(requestTimeout))
        // The first admin's token on a fresh data directory; read from the environment so it
        // never shows in `ps` or shell history.
        if let token = ProcessInfo.processInfo.environment["TICKETFLOW_ADMIN_TOKEN"] {
            guard (16...200).contains(token.count), token.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                FileHandle.standardError.write(Data("ticketflow: TICKETFLOW_ADMIN_TOKEN must be 16 to 200 visible ASCII characters\n".utf8))
                throw ExitCode(1)
            }
            config.adminToken = token
        }
        if let password = ProcessInfo.processInfo.environment["TICKETFLOW_ADMIN_PASSWORD"] {
            guard (12...200).contains(password.count) else {
                FileHandle.standardError.write(Data("ticketflow: TICKETFLOW_ADMIN_PASSWORD must be 12 to 200 characters long\n".utf8))
                throw ExitCode(1)
            }
            config.adminPassword = password
        }
        if let cluster, let node {
            let file: ClusterConfig
            do { file = try ClusterConfig.load(path: cluster) } catch {
                FileHandle.standardError.write(Data("ticketflow: \(error)\n".utf8))
                throw ExitCode(1)
            }
            guard let member = file.node(node) else {
                FileHandle.standardError.write(Data("ticketflow: no node '\(node)' in \(cluster); members: \(file.nodes.map(\.name).joined(separator: ", "))\n".utf8))
                throw ExitCode(1)
            }
            let address = member.http.split(separator: ":")
            config.host = String(address[0])
            config.port = Int(address[1])!
            config.dataDirectory = member.data
            config.cluster = ClusterJoin(config: file, me: node)
        }
        if let text = ProcessInfo.processInfo.environment["TICKETFLOW_EXIT_WITH_PID"], let pid = Int32(text) {
            Self.exitWhenGone(pid, logger: logger)
        }
        do {
            let (app, node) = try await buildApplication(config, logger: logger)
            let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            try await node.flush()
            logger.notice("stopped; every acknowledged command is committed")
        } catch let error as StartupError {
            FileHandle.standardError.write(Data("ticketflow: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

extension Serve {
    /// For nodes started by tests: when the process `pid` is gone (a test run that crashed
    /// before stopping its servers), exit. Nothing acknowledged is lost by exiting: commits
    /// are on disk before they are acknowledged.
    static func exitWhenGone(_ pid: Int32, logger: Logger) {
        Thread.detachNewThread {
            while kill(pid, 0) == 0 || errno == EPERM { Thread.sleep(forTimeInterval: 1) }
            logger.warning("process \(pid) that started this node is gone (TICKETFLOW_EXIT_WITH_PID); exiting")
            Glibc.exit(3)
        }
    }
}

extension Durability: ExpressibleByArgument {}
