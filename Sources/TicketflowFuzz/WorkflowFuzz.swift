import Foundation
import TicketflowWorkflow

/// Feeds one input to the workflow loader as a workflow file would be fed to `ticketflow check`
/// or `PUT /api/v1/workflow`. libFuzzer reports a crash, a hang (`-timeout`) or a memory
/// blow-up (`-rss_limit_mb`) as a finding; an input is fine whatever diagnostics it earns.
func loadWorkflow(_ bytes: UnsafeRawBufferPointer) {
    let text = String(decoding: bytes, as: UTF8.self)
    let outcome = WorkflowLoader.load(text: text, name: "fuzz.yaml")
    // A workflow is returned exactly when there is no error: the invariant callers rely on.
    precondition((outcome.workflow == nil) == !outcome.errors.isEmpty, "a workflow came back with errors, or none without")
}

#if TICKETFLOW_FUZZ
/// libFuzzer's driver, linked in by `-sanitize=fuzzer`.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The executable's entry (SwiftPM links an executable target's `main` under this name); it
/// hands the command line to libFuzzer, which calls back with each input
/// (build: `make fuzz`, with `-sanitize=fuzzer -DTICKETFLOW_FUZZ`).
@_cdecl("TicketflowFuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in
        loadWorkflow(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}
#else
/// Without the fuzzer: replays the files named (a corpus, the crashes a fuzz run kept) through
/// the same function, so what the fuzzer once found is checked by every `make test`.
@main struct ReplayCorpus {
    static func main() throws {
        let paths = try CommandLine.arguments.dropFirst().flatMap { path -> [String] in
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
            return try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { path + "/" + $0 }
        }
        guard !paths.isEmpty else {
            FileHandle.standardError.write(Data("usage: ticketflow-fuzz-replay FILE_OR_DIRECTORY...\n".utf8))
            exit(2)
        }
        let started = Date()
        for path in paths {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            data.withUnsafeBytes(loadWorkflow)
        }
        print("replayed \(paths.count) inputs through the workflow loader in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
    }
}
#endif
