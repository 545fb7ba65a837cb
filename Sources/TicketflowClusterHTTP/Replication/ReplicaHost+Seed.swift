import Foundation
import TicketflowCluster
import TicketflowServer
import TicketflowStorage

/// A node added to a running cluster starts with what every node keeps of its own — users,
/// their tokens and sessions, the workflows activated — copied from a peer before its store
/// opens: changes to those went to every node there was, and this one was not among them.
extension ReplicaHost {
    private func seedPath(for node: String) -> String { dataDirectory + "/seed.copy-for-" + node }

    /// Serves a piece of this node's seed for `node`: made when the first piece is asked for,
    /// removed once the last is read.
    func seedPiece(for node: String, offset: UInt64) throws -> SeedPiece {
        // The name becomes part of a file name: only a member's, never a path.
        guard node != me, config.nodeNames.contains(node) else { throw ClusterCallError("no member \(node) to seed") }
        let path = seedPath(for: node)
        if offset == 0 { try Store.exportSeed(from: config.storePath(of: me, on: me, dataDirectory: dataDirectory), to: path) }
        let file = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? file.close() }   // read only: nothing to lose on close
        let total = try file.seekToEnd()
        guard offset <= total else { throw ClusterCallError("a seed piece at \(offset) of \(total) bytes") }
        try file.seek(toOffset: offset)
        let bytes = [UInt8](try file.read(upToCount: SnapshotChunk.size) ?? Data())
        if offset + UInt64(bytes.count) >= total { try? FileManager.default.removeItem(atPath: path) }   // read whole: it goes (a leftover is replaced next time)
        return SeedPiece(offset: offset, total: total, bytes: bytes)
    }

    /// Before this node's store opens, on a node that is no partition's home and has no store
    /// yet: copies a peer's seed into a new store. Asks each peer in turn, for up to `limit`;
    /// fails the start when none answers (its peers must know this node: restarted with the
    /// cluster file that names it).
    func seedIfNew(through links: any ReplicaLinks, limit: Duration = .seconds(30)) async throws {
        let store = config.storePath(of: me, on: me, dataDirectory: dataDirectory)
        guard !config.isShard(me), !FileManager.default.fileExists(atPath: store) else { return }
        let incoming = dataDirectory + "/seed.incoming"
        let deadline = ContinuousClock.now + limit
        var problems: [String: String] = [:]
        while ContinuousClock.now < deadline {
            for peer in config.nodeNames where peer != me {
                do {
                    guard FileManager.default.createFile(atPath: incoming, contents: nil) else { throw StartupError(description: "cannot write \(incoming)") }
                    let file = try FileHandle(forWritingTo: URL(fileURLWithPath: incoming))
                    var offset: UInt64 = 0, total: UInt64 = 1
                    while offset < total {
                        let piece = try await links.seed(from: peer, offset: offset)
                        guard piece.offset == offset, !piece.bytes.isEmpty || piece.total == offset else {
                            throw StartupError(description: "\(peer) sent a piece at \(piece.offset) for \(offset)")
                        }
                        try file.write(contentsOf: Data(piece.bytes))
                        offset += UInt64(piece.bytes.count); total = piece.total
                    }
                    try file.synchronize()
                    try file.close()
                    let made = try Store(path: store)
                    try made.close()
                    try Store.importSeed(from: incoming, into: store)
                    try FileManager.default.removeItem(atPath: incoming)
                    logger.notice("users, tokens, sessions and workflows copied from \(peer) (\(total) bytes): this node is new to the cluster")
                    return
                } catch {
                    problems[peer] = "\(error)"
                    for path in [store, store + "-wal", store + "-shm"] { try? FileManager.default.removeItem(atPath: path) }   // half made: made again
                }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw StartupError(description: "this node is new to the cluster and no peer gave it the users and workflows within \(limit) — do they know it (restarted with the cluster file that names it)? "
                           + problems.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; "))
    }
}
