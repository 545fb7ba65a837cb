import Foundation

/// Helpers shared by the test targets: where the package and the built executable are,
/// and a bounded way to run the real `ticketflow` binary.
public enum TestSupport {
    /// The package root, derived from this file's location.
    public static let packageRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The executable under test: `$TICKETFLOW_BIN`, or the debug build in `.build`.
    public static var executable: String {
        if let env = ProcessInfo.processInfo.environment["TICKETFLOW_BIN"], !env.isEmpty { return env }
        return packageRoot + "/.build/debug/ticketflow"
    }

    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public enum Failure: Error, CustomStringConvertible {
        case missingExecutable(String)
        case timedOut([String])
        case cannotPrepare(String)
        public var description: String {
            switch self {
            case .cannotPrepare(let what): return "cannot prepare the run: \(what)"
            case .missingExecutable(let p): return "executable not found at \(p); run `swift build` first"
            case .timedOut(let args): return "ticketflow \(args.joined(separator: " ")) did not finish in time"
            }
        }
    }

    /// Runs `ticketflow` with arguments, killing it if it outlives `timeout` seconds.
    public static func run(_ arguments: [String], in directory: String = packageRoot, timeout: TimeInterval = 120) throws -> Output {
        guard FileManager.default.isExecutableFile(atPath: executable) else { throw Failure.missingExecutable(executable) }
        return try run(program: executable, arguments, in: directory, timeout: timeout)
    }

    /// Runs a script of the repository (`cluster/start-local.sh`, say) with bash, with
    /// `TICKETFLOW_BIN` pointing at the executable under test. Output goes through files, not
    /// pipes: a script that starts servers in the background leaves them holding its output.
    public static func runScript(_ script: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> Output {
        guard FileManager.default.isExecutableFile(atPath: executable) else { throw Failure.missingExecutable(executable) }
        let dir = try temporaryDirectory("tf-script")
        // Removing a temporary directory: a leftover one is harmless.
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard FileManager.default.createFile(atPath: dir + "/out", contents: nil),
              FileManager.default.createFile(atPath: dir + "/err", contents: nil) else { throw Failure.cannotPrepare("output files in \(dir)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [packageRoot + "/" + script] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
        var environment = testEnvironment
        environment["TICKETFLOW_BIN"] = executable
        process.environment = environment
        process.standardOutput = FileHandle(forWritingAtPath: dir + "/out")
        process.standardError = FileHandle(forWritingAtPath: dir + "/err")
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            process.terminate()
            throw Failure.timedOut([script] + arguments)
        }
        return Output(status: process.terminationStatus,
                      // A process that wrote nothing leaves no readable file: its output is empty.
                      stdout: (try? String(contentsOfFile: dir + "/out", encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: dir + "/err", encoding: .utf8)) ?? "")
    }

    public static func run(program: String, _ arguments: [String], in directory: String, timeout: TimeInterval) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = testEnvironment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain both pipes while the process runs so a chatty child never blocks on a full pipe.
        let outData = LockedData(), errData = LockedData()
        let group = DispatchGroup()
        for (pipe, sink) in [(out, outData), (err, errData)] {
            group.enter()
            DispatchQueue.global().async {
                sink.set(pipe.fileHandleForReading.readDataToEndOfFile())
                group.leave()
            }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw Failure.timedOut(arguments)
        }
        process.waitUntilExit()
        group.wait()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: outData.get(), as: UTF8.self),
                      stderr: String(decoding: errData.get(), as: UTF8.self))
    }
}

/// A byte buffer handed from a reader thread to the waiting test.
final class LockedData: @unchecked Sendable {
    // @unchecked Sendable: `data` is only touched while holding `lock`.
    private let lock = NSLock()
    private var data = Data()
    func set(_ d: Data) { lock.withLock { data = d } }
    func get() -> Data { lock.withLock { data } }
}
