import Foundation
import TicketflowYAML

/// A cluster file (`cluster/local.yaml`): the partition count and every node's HTTP address,
/// ZeroMQ endpoint and data directory.
public struct ClusterConfig: Sendable, Decodable, Equatable {
    public struct Node: Sendable, Decodable, Equatable {
        /// Its name, HTTP address (HOST:PORT), ZeroMQ endpoint (tcp://…) and data directory.
        public var name, http, zmq, data: String
    }

    public var partitions: Int
    public var nodes: [Node]

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public static func load(path: String) throws -> ClusterConfig {
        let config: ClusterConfig
        do { config = try YAMLFile.decode(ClusterConfig.self, at: path) } catch { throw Invalid(description: error.description) }
        var problems: [String] = []
        if !(1...4096).contains(config.partitions) { problems.append("partitions must be 1…4096") }
        if config.nodes.isEmpty { problems.append("nodes: at least one node") }
        if Set(config.nodes.map(\.name)).count != config.nodes.count { problems.append("nodes: names must be unique") }
        for n in config.nodes {
            if !n.zmq.hasPrefix("tcp://") { problems.append("node \(n.name): zmq must be a tcp:// endpoint") }
            if n.http.split(separator: ":").count != 2 || Int(n.http.split(separator: ":").last ?? "") == nil {
                problems.append("node \(n.name): http must be HOST:PORT")
            }
        }
        if !problems.isEmpty { throw Invalid(description: "\(path): " + problems.joined(separator: "; ")) }
        return config
    }

    public func node(_ name: String) -> Node? { nodes.first { $0.name == name } }

    /// What every member must agree on — the partition count and each node's name and
    /// addresses (not its data directory, which is local) — hashed to 8 bytes. Heartbeats
    /// carry it, so nodes started from different files never take each other for peers.
    public var fingerprint: [UInt8] {
        let canonical = "\(partitions)|" + nodes.sorted { $0.name < $1.name }.map { "\($0.name),\($0.http),\($0.zmq)" }.joined(separator: ";")
        let h = PartitionMap.weight(canonical)
        return (0..<8).map { UInt8(truncatingIfNeeded: h >> (8 * UInt64($0))) }
    }
    public var partitionMap: PartitionMap { PartitionMap(nodes: nodes.map(\.name), partitions: partitions) }
}
