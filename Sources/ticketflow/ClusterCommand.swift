import ArgumentParser
import Foundation
import TicketflowCluster
import TicketflowClusterHTTP
import TicketflowCoordination
import TicketflowStorage

/// `ticketflow cluster …`: look at a cluster file without starting a node.
struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Check a cluster file, list its members, make their CurveZMQ keys, compare replicas.",
        subcommands: [Members.self, Keys.self, Digest.self, Place.self]
    )

    /// The cluster file, checked as a node checks it at start; a problem is printed and exits 1.
    static func load(_ file: String) throws -> ClusterConfig {
        do { return try ClusterConfig.load(path: file) } catch {
            FileHandle.standardError.write(Data("ticketflow: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// `ticketflow cluster members FILE [NODE…]`: the members after the file passed every
    /// check a node makes at start. `cluster/start-local.sh` and `stop-local.sh` read the
    /// `--tsv` form, so the scripts understand every way of writing YAML that the nodes do,
    /// and a broken file stops them before any node starts.
    struct Members: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the members of a cluster file: name, HTTP address, ZeroMQ endpoint, data directory, partitions owned.")

        @Argument(help: "Cluster file (cluster/local.yaml).") var file: String
        @Argument(help: "Only these members (each must be in the file).") var nodes: [String] = []
        @Flag(help: "One member a line, tab-separated, without a header: name, http, zmq, data, partitions.") var tsv = false
        @Flag(help: "Instead: the etcd URLs, one a line, each with the directory a local etcd keeps its data in (beside the first node's), tab-separated.")
        var etcd = false

        func run() throws {
            let config = try ClusterCommand.load(file)
            let unknown = nodes.filter { config.node($0) == nil }
            guard unknown.isEmpty else {
                FileHandle.standardError.write(Data(
                    "ticketflow: no node \(unknown.map { "'\($0)'" }.joined(separator: ", ")) in \(file); members: \(config.nodes.map(\.name).joined(separator: ", "))\n".utf8))
                throw ExitCode(1)
            }
            if etcd {
                let beside = ((config.nodes.first?.data ?? "./data") as NSString).deletingLastPathComponent
                for url in config.etcd ?? [] { print("\(url)\t\(beside.isEmpty ? "." : beside)/etcd") }
                return
            }
            let map = config.partitionMap
            let owned = Dictionary(grouping: 0..<config.partitions) { map.owner(of: $0) }.mapValues(\.count)
            let rows = config.nodes.filter { nodes.isEmpty || nodes.contains($0.name) }.map {
                [$0.name, $0.http, $0.zmq, $0.data, String(owned[$0.name] ?? 0)]
            }
            if tsv {
                for row in rows { print(row.joined(separator: "\t")) }
                return
            }
            let header = ["node", "http", "zmq", "data", "partitions"]
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! }
            for row in [header] + rows {
                print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                    .trimmingCharacters(in: .whitespaces))
            }
            print("\(config.partitions) partitions over \(config.nodes.count) nodes")
        }
    }

    /// `ticketflow cluster keys FILE [NODE…]`: a CurveZMQ key pair for each node named (every
    /// node when none is) that has none yet — the secret key in its data directory, readable by
    /// its owner only, the public key where the file says — and each public key printed.
    /// Existing keys are kept (to replace one, remove its files first).
    struct Keys: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make the CurveZMQ key pairs of a cluster file's nodes that have none.")

        @Argument(help: "Cluster file (cluster/local.yaml).") var file: String
        @Argument(help: "Only these nodes.") var nodes: [String] = []

        func run() throws {
            let config = try ClusterCommand.load(file)
            if config.isInsecure {
                print("\(file) sets insecure: true: its links are plain text and need no keys")
                return
            }
            for node in config.nodes where nodes.isEmpty || nodes.contains(node.name) {
                let (key, created) = try config.makeKeys(for: node.name)
                let listed = node.publicKey.map { $0 == key ? "listed in \(file)" : "\(file) lists another key, \($0): put this one there" }
                    ?? "written to \(node.publicKeyPath)"
                print("\(node.name): \(created ? "new key pair" : "has its key pair"), public key \(key) (\(listed)); secret key in \(node.secretKeyPath)")
            }
            let unknown = nodes.filter { config.node($0) == nil }
            if !unknown.isEmpty {
                FileHandle.standardError.write(Data("ticketflow: no node \(unknown.joined(separator: ", ")) in \(file)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    /// `ticketflow cluster digest FILE`: every replica of every partition on this machine,
    /// summed up (log position, tickets, events, a hash of their contents, SLA breaches in the
    /// journal twice); exit 1 when the replicas of a partition differ or a breach is repeated.
    /// Meaningful once writes have stopped and followers have caught up.
    struct Digest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Compare the replicas of every partition (on this machine's data directories).")

        @Argument(help: "Cluster file (cluster/local.yaml).") var file: String

        func run() async throws {
            let config = try ClusterCommand.load(file)
            // The replicas etcd records (they move when nodes are added or removed); the file's
            // first placement without etcd.
            var placed: [String: [String]] = [:]
            if let endpoints = config.etcd {
                do {
                    placed = try await PlacementRecord.read(config, from: EtcdClient(endpoints: endpoints)).mapValues(\.members)
                } catch {
                    print("etcd did not answer (\(error)); comparing the replicas the file places")
                }
            }
            var agree = true
            for shard in config.shardNames {
                var digests: [String: StateDigest] = [:]
                for node in placed[shard] ?? config.replicaSet(of: shard) {
                    let path = config.storePath(of: shard, on: node)
                    guard FileManager.default.fileExists(atPath: path) else { print("\(shard) on \(node): no store at \(path)"); agree = false; continue }
                    let digest = try Store(path: path).stateDigest()
                    digests[node] = digest
                    print("\(shard) on \(node): \(digest)")
                    if !digest.repeatedBreaches.isEmpty { agree = false }
                }
                if Set(digests.values.map { "\($0.position) \($0.hash)" }).count > 1 { print("\(shard): the replicas differ"); agree = false }
            }
            if !agree { throw ExitCode(1) }
        }
    }

    /// `ticketflow cluster place FILE`: after nodes were added to or removed from the cluster
    /// file (and every running node restarted with it), records the file's nodes in etcd as
    /// those replicas are placed on; each partition's leader then moves its replicas there, one
    /// node at a time (docs/replication.md, "Changing the nodes"). Prints where each partition's
    /// replicas are and where they will be.
    struct Place: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Place every partition's replicas on the nodes of a cluster file (after nodes were added or removed).")

        @Argument(help: "Cluster file (cluster/local.yaml).") var file: String

        func run() async throws {
            let config = try ClusterCommand.load(file)
            guard let endpoints = config.etcd, config.isReplicated else {
                FileHandle.standardError.write(Data("ticketflow: \(file) has no etcd and replication_factor above 1: nothing is placed\n".utf8))
                throw ExitCode(1)
            }
            let etcd = EtcdClient(endpoints: endpoints)
            // The prefix is the layout's fingerprint, so a record found here lays tickets out as the file does.
            guard try await etcd.get(config.etcdPrefix + "layout") != nil else {
                FileHandle.standardError.write(Data("ticketflow: no cluster keeping its tickets in \(config.partitions) partitions over \(config.shardNames.joined(separator: ", ")) in etcd (add `shards:` as the cluster began, or start it first)\n".utf8))
                throw ExitCode(1)
            }
            try await etcd.put(PlacementRecord.nodesKey(config), config.nodeNames.joined(separator: ","), lease: 0)
            let now = try await PlacementRecord.read(config, from: etcd)
            print("replicas placed on \(config.nodeNames.joined(separator: ", "))")
            for shard in config.shardNames {
                let wanted = config.replicaSet(of: shard), current = now[shard]?.members
                print("partition \(shard): \(current?.joined(separator: ",") ?? "?")\(current.map(Set.init) == Set(wanted) ? "" : " → " + wanted.joined(separator: ","))")
            }
        }
    }
}
