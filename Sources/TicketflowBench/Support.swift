import Foundation

/// Resident set size of this process, in bytes (from /proc/self/statm).
func residentBytes() -> Int {
    // No /proc (not Linux): the memory figures read 0 and say so in the table.
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Seconds since an instant of the monotonic clock.
func elapsedSeconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// One measured figure, printed as a Markdown table row the run script collects.
func report(_ name: String, _ value: String, baseline: String = "", ratio: String = "", note: String = "") {
    print("| \(name) | \(value) | \(baseline) | \(ratio) | \(note) |")
    fflushStdout()
}

func fflushStdout() { FileHandle.standardOutput.synchronizeFile() }

func format(_ v: Double, _ digits: Int = 0) -> String {
    let f = NumberFormatter()
    f.numberStyle = .decimal
    f.maximumFractionDigits = digits
    f.minimumFractionDigits = digits
    return f.string(from: NSNumber(value: v)) ?? String(v)
}

func temporaryDirectory(_ prefix: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    // If it cannot be made, opening the store in it fails next with the reason.
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// Where to find the workflows: the package root (the working directory of `make bench`).
let defaultWorkflowPath = "workflows/b2c-support.yaml"
