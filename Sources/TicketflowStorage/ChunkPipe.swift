import Foundation
import Synchronization

/// Hands chunks from a producing thread to a consuming one, at most `depth` chunks ahead, so
/// that reading rows and using them overlap (a restart reads a million rows while the node
/// puts the previous ones back). Either side can stop the other: the producer with `finish`
/// or `fail`, the consumer with `cancel`.
final class ChunkPipe<Element: Sendable>: Sendable {
    private struct State {
        var chunks: [[Element]] = []
        var finished = false
        var failure: (any Error)?
        var cancelled = false
    }

    private let state = Mutex(State())
    /// Counts chunks ready to take, and free places for chunks.
    private let ready = DispatchSemaphore(value: 0)
    private let room: DispatchSemaphore

    init(depth: Int) { room = DispatchSemaphore(value: depth) }

    /// Producer: waits for room, then queues a chunk; false once the consumer has cancelled.
    func put(_ chunk: [Element]) -> Bool {
        room.wait()
        let accepted = state.withLock { s -> Bool in
            guard !s.cancelled else { return false }
            s.chunks.append(chunk)
            return true
        }
        if accepted { ready.signal() }
        return accepted
    }

    /// Producer: no more chunks.
    func finish() {
        state.withLock { $0.finished = true }
        ready.signal()
    }

    /// Producer: stopped by an error, which the consumer rethrows.
    func fail(_ error: any Error) {
        state.withLock { $0.failure = $0.failure ?? error; $0.finished = true }
        ready.signal()
    }

    /// Consumer: the next chunk, nil after the last; rethrows the producer's error.
    func take() throws -> [Element]? {
        ready.wait()
        let (chunk, failure) = state.withLock { s -> ([Element]?, (any Error)?) in
            if !s.chunks.isEmpty { return (s.chunks.removeFirst(), nil) }
            return (nil, s.failure)
        }
        if let failure { throw failure }
        if chunk != nil { room.signal() }
        return chunk
    }

    /// Consumer: stops the producer (its next `put` returns false).
    func cancel() {
        state.withLock { $0.cancelled = true }
        room.signal()
    }
}
