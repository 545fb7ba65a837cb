import Foundation
import ServiceLifecycle

/// One node per data directory: an exclusive `flock` on `ticketflow.lock`, taken before SQLite
/// is opened and held for the life of the application. A second process on the same directory
/// is refused with the first one's pid instead of sharing (and corrupting) its journal.
public final class DataDirectoryLock: Service, Sendable {
    private let fd: Int32
    public let path: String

    public init(directory: String) throws {
        path = directory + "/ticketflow.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StartupError(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(fd, &buffer, buffer.count, 0)
            let holder = count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            close(fd)
            throw StartupError(description: "another ticketflow process (pid \(holder)) is using the data directory \(directory); stop it first, or give this one another --data")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        self.fd = fd
    }

    /// Holds the lock until the application shuts down.
    public func run() async throws {
        try? await gracefulShutdown()   // cancellation means the same: shutting down
    }

    deinit { close(fd) }
}
