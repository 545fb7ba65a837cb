import Foundation

extension ClusterConfig {
    /// How `me` secures its links: plain with `insecure: true`; else CurveZMQ with its secret
    /// key from its data directory (refused if others may read it, or if it does not match
    /// the public key the file lists) and every member's public key.
    public func linkSecurity(for me: String) throws -> LinkSecurity {
        guard !isInsecure else { return .plain }
        guard let mine = node(me) else { throw Invalid(description: "no node '\(me)'") }
        let secretPath = mine.secretKeyPath
        var info = stat()
        guard stat(secretPath, &info) == 0 else {
            throw Invalid(description: "node \(me): no secret key at \(secretPath); make one with: ticketflow cluster keys CLUSTER_FILE \(me)")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw Invalid(description: "node \(me): \(secretPath) may be read by others (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        let secret = try String(contentsOfFile: secretPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let own: CurveKeyPair
        do { own = try CurveKeyPair(secretKey: secret) } catch { throw Invalid(description: "node \(me): \(secretPath): \(error)") }
        var peers: [String: String] = [:]
        for node in nodes { peers[node.name] = try publicKey(of: node) }
        guard peers[me] == own.publicKey else {
            throw Invalid(description: "node \(me): the cluster file lists public key \(peers[me] ?? "-"), but \(secretPath) belongs to \(own.publicKey)")
        }
        return .curve(own: own, peers: peers)
    }

    /// A member's public key, as written or read from its file.
    public func publicKey(of node: Node) throws -> String {
        if let key = node.publicKey { return key }
        let path = node.publicKeyPath
        guard let text = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw Invalid(description: "node \(node.name): no public key at \(path); make one with: ticketflow cluster keys CLUSTER_FILE \(node.name)")
        }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard CurveKeyPair.isKey(key) else { throw Invalid(description: "node \(node.name): \(path) does not hold a 40-character Z85 key") }
        return key
    }

    /// Makes `name`'s key pair unless it has one: the secret key created readable by its
    /// owner only (never overwritten), the public key beside it or where `public_key_file`
    /// says. Returns the public key and whether it is new.
    public func makeKeys(for name: String) throws -> (publicKey: String, created: Bool) {
        guard let node = node(name) else { throw Invalid(description: "no node '\(name)'; the file has \(nodes.map(\.name).joined(separator: ", "))") }
        try FileManager.default.createDirectory(atPath: node.data, withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: node.secretKeyPath) {
            let secret = try String(contentsOfFile: node.secretKeyPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            return (try CurveKeyPair(secretKey: secret).publicKey, false)
        }
        let pair = try CurveKeyPair.generate()
        // O_EXCL: two runs at once cannot both write a key; 0600: only the owner reads it.
        let fd = open(node.secretKeyPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw Invalid(description: "cannot create \(node.secretKeyPath): \(String(cString: strerror(errno)))") }
        let written = Array((pair.secretKey + "\n").utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == pair.secretKey.utf8.count + 1 else { throw Invalid(description: "cannot write \(node.secretKeyPath)") }
        if node.publicKey == nil {
            let directory = (node.publicKeyPath as NSString).deletingLastPathComponent
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            try (pair.publicKey + "\n").write(toFile: node.publicKeyPath, atomically: true, encoding: .utf8)
        }
        return (pair.publicKey, true)
    }
}
