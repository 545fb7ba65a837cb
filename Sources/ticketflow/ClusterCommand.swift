import ArgumentParser
import Foundation
import TicketflowCluster
import TicketflowStorage

/// `ticketflow cluster …`: look at a cluster file without starting a node.
struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Check a cluster file, list its members, make their CurveZMQ keys, compare replicas.",
        subcommands: [Members.self, Keys.self, Digest.self]
    )

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
            let config: ClusterConfig
            do { config = try ClusterConfig.load(path: file) } catch {
                FileHandle.standardError.write(Data("ticketflow: \(error)\n".utf8))
                throw ExitCode(1)
            }
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
            let config: ClusterConfig
            do { config = try ClusterConfig.load(path: file) } catch {
                FileHandle.standardError.write(Data("ticketflow: \(error)\n".utf8))
                throw ExitCode(1)
            }
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
    struct Digest: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Compare the replicas of every partition (on this machine's data directories).")

        @Argument(help: "Cluster file (cluster/local.yaml).") var file: String

        func run() throws {
            let config: ClusterConfig
            do { config = try ClusterConfig.load(path: file) } catch {
                FileHandle.standardError.write(Data("ticketflow: \(error)\n".utf8))
                throw ExitCode(1)
            }
            var agree = true
            for shard in config.nodes.map(\.name) {
                var digests: [String: StateDigest] = [:]
                for node in config.replicaSet(of: shard) {
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
}
