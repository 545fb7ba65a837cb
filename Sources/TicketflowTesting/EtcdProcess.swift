import Foundation

/// A real etcd (Debian's `etcd-server`) on loopback ports of its own, with its data in a
/// temporary directory; stopped when the object goes away. `make test` installs etcd-server.
public final class EtcdProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` and `directory` are set once in `init` and only read after.
    private let process = Process()
    public let directory: String
    public let endpoint: String

    public init(timeout: TimeInterval = 30) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/etcd") else {
            throw TestSupport.Failure.cannotPrepare("/usr/bin/etcd is missing: make deps installs Debian's etcd-server")
        }
        directory = try TestSupport.temporaryDirectory("tf-etcd")
        // Below the kernel's ephemeral range, as the cluster tests' ports.
        let client = Int.random(in: 10_000..<31_000), peer = client + 1000
        endpoint = "http://127.0.0.1:\(client)"
        process.executableURL = URL(fileURLWithPath: "/usr/bin/etcd")
        process.arguments = ["--data-dir", directory + "/data", "--name", "test",
                             "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
                             "--listen-peer-urls", "http://127.0.0.1:\(peer)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peer)",
                             "--initial-cluster", "test=http://127.0.0.1:\(peer)"]
        FileManager.default.createFile(atPath: directory + "/etcd.log", contents: nil)
        guard let log = FileHandle(forWritingAtPath: directory + "/etcd.log") else {
            throw TestSupport.Failure.cannotPrepare("cannot write \(directory)/etcd.log")
        }
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if Self.healthy(endpoint) { return }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop()
        throw TestSupport.Failure.cannotPrepare("etcd did not become healthy at \(endpoint); see \(directory)/etcd.log")
    }

    /// Whether etcd's `/health` says so (asked with curl, which `make deps` installs).
    static func healthy(_ endpoint: String) -> Bool {
        guard let out = try? TestSupport.run(program: "/usr/bin/curl", ["-fs", "--max-time", "1", endpoint + "/health"], in: "/", timeout: 5)
        else { return false }   // curl could not run: not healthy yet, the caller tries again
        return out.status == 0 && out.stdout.contains("\"true\"")
    }

    /// Stops etcd and removes its directory.
    public func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: directory)   // a temporary directory
    }

    deinit { stop() }
}
