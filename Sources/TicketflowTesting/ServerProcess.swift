import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A real `ticketflow serve` process on a free loopback port, for end-to-end tests.
/// It is always stopped: by `kill`, by `stop`, or when the object goes away.
public final class ServerProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` and `output` are set up once in `init` and afterwards only
    // read; the output buffer is guarded by `lock`.
    private let process = Process()
    private let lock = NSLock()
    private var output = ""
    public private(set) var baseURL = ""

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `ticketflow serve --port 0 …` and waits (at most `timeout`) for its "listening" line.
    /// `environment` changes the test environment (`TestSupport.testEnvironment`): a nil value removes a variable.
    public init(data: String, workflow: String, extra: [String] = [], environment: [String: String?] = [:], timeout: TimeInterval = 60) throws {
        guard FileManager.default.isExecutableFile(atPath: TestSupport.executable) else {
            throw TestSupport.Failure.missingExecutable(TestSupport.executable)
        }
        process.executableURL = URL(fileURLWithPath: TestSupport.executable)
        process.arguments = ["serve", "--data", data, "--workflow", workflow, "--host", "127.0.0.1", "--port", "0", "--log-level", "warning"] + extra
        process.currentDirectoryURL = URL(fileURLWithPath: TestSupport.packageRoot)
        var env = TestSupport.testEnvironment
        for (name, value) in environment { env[name] = value }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.output += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let range = log.range(of: #"listening on (http://127\.0\.0\.1:\d+)"#, options: .regularExpression) {
                baseURL = String(log[range].dropFirst("listening on ".count))
                return
            }
            if !process.isRunning { throw Failure(description: "ticketflow serve exited early:\n\(log)") }
            Thread.sleep(forTimeInterval: 0.02)
        }
        kill()
        throw Failure(description: "ticketflow serve did not start within \(timeout) s:\n\(log)")
    }

    deinit { if process.isRunning { process.terminate() } }

    /// Everything the process printed so far.
    public var log: String { lock.withLock { output } }
    public var pid: Int32 { process.processIdentifier }

    /// SIGKILL: no shutdown, no flushing — what a crash looks like.
    public func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM and wait for a graceful exit (bounded); returns the exit status.
    @discardableResult
    public func stop(timeout: TimeInterval = 30) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill() }
        return process.terminationStatus
    }
}

/// A small JSON-over-HTTP client for the end-to-end tests, on async-http-client (the
/// project's one client for outbound HTTP). `json` reads an answer loosely on purpose: these
/// tests probe the wire form a client sees, field by field.
public struct HTTPClient: Sendable {
    public let baseURL: String
    /// Sent as `Authorization: Bearer …` unless a request brings its own; nil: none.
    public var token: String?
    /// How long a request may take, in seconds (a test that stops servers with SIGSTOP wants
    /// short ones).
    public var timeout: Int64 = 30
    public init(_ baseURL: String, token: String? = TestSupport.adminToken) { self.baseURL = baseURL; self.token = token }

    public struct Reply: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: Data
        // Nil for a body that is not a JSON object: the test then fails on the value it expected.
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public func request(_ method: String, _ path: String, json: Any? = nil, raw: Data? = nil,
                        headers: [String: String] = [:]) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method)
        if let json {
            request.body = .bytes(try JSONSerialization.data(withJSONObject: json))
            request.headers.add(name: "Content-Type", value: "application/json")
        } else if let raw {
            request.body = .bytes(raw)
        }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (k, v) in headers { request.headers.replaceOrAdd(name: k, value: v) }
        let response = try await AsyncHTTPClient.HTTPClient.shared.execute(request, timeout: .seconds(timeout))
        let body = try await response.body.collect(upTo: 64 << 20)
        var h: [String: String] = [:]
        for (k, v) in response.headers { h[k.lowercased()] = v }
        return Reply(status: Int(response.status.code), headers: h, body: Data(buffer: body))
    }

    public func get(_ path: String) async throws -> Reply { try await request("GET", path) }
    public func post(_ path: String, _ json: Any, headers: [String: String] = [:]) async throws -> Reply {
        try await request("POST", path, json: json, headers: headers)
    }
}

extension TestSupport {
    /// The environment of every process a test starts: nodes it starts (directly or through a
    /// script) exit when the test process is gone, even if it crashed before stopping them.
    public static var testEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["TICKETFLOW_EXIT_WITH_PID"] = String(ProcessInfo.processInfo.processIdentifier)
        // The first admin of every node a test starts, and the token of every command that
        // talks to one (storm, cluster members).
        environment["TICKETFLOW_ADMIN_TOKEN"] = adminToken
        environment["TICKETFLOW_TOKEN"] = adminToken
        return environment
    }

    /// The first admin's token of the nodes tests start.
    public static let adminToken = "e2e-admin-token-0123456789"

    /// A fresh temporary directory; the caller removes it.
    public static func temporaryDirectory(_ prefix: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
