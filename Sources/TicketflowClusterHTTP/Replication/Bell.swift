import Synchronization

/// Wakes one waiting task, or the next one to wait: a leader's sender for one follower sleeps
/// on it between heartbeats and is rung when a batch is proposed.
final class Bell: Sendable {
    private struct State { var rung = false; var waiter: CheckedContinuation<Void, Never>? }
    private let state = Mutex(State())

    func ring() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if let w = s.waiter { s.waiter = nil; return w }
            s.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when rung, or after `timeout` (a later ring of that timer is harmless: one
    /// extra turn of the sender's loop).
    func wait(timeout: Duration) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.rung { s.rung = false; return true }
                s.waiter = c
                return false
            }
            if now { c.resume(); return }
            Task { [self] in
                try? await Task.sleep(for: timeout)   // cancelled or not, the waiter is woken
                ring()
            }
        }
    }
}

/// Runs async bodies one at a time, in arrival order: a follower writes one append to disk
/// before it looks at the next, so it never acknowledges what is not yet written.
final class SerialGate: Sendable {
    private struct State { var busy = false; var queue: [CheckedContinuation<Void, Never>] = [] }
    private let state = Mutex(State())

    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let go = state.withLock { s -> Bool in
                if !s.busy { s.busy = true; return true }
                s.queue.append(c)
                return false
            }
            if go { c.resume() }
        }
        defer {
            let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
                if s.queue.isEmpty { s.busy = false; return nil }
                return s.queue.removeFirst()
            }
            next?.resume()
        }
        return try await body()
    }
}
