import Foundation

/// The I/O thread: waits on the sockets' descriptors for input that no sender picked up, and
/// keeps time — heartbeats every second, request expiry every 100 ms, retries of requests
/// whose peer had no live connection.
extension Transport {
    static let heartbeatInterval: UInt64 = 1_000_000_000
    static let expiryInterval: UInt64 = 100_000_000
    /// How many messages the I/O thread reads from one socket per round, so one flood cannot
    /// starve the rest.
    static let ioBudget = 1000

    func runIOThread() {
        var nextBeat: UInt64 = 0
        var nextExpiry: UInt64 = 0
        var fds = (socketFDs + [wakePipe.read]).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while running.load(ordering: .relaxed) {
            let now = MonotonicTime.nanoseconds()
            if now >= nextBeat {
                nextBeat = now + Self.heartbeatInterval
                sendHeartbeats()
            }
            if now >= nextExpiry {
                nextExpiry = now + Self.expiryInterval
                expireRequests(now: now)
            }
            let blocked = blockedCount.load(ordering: .relaxed) > 0
            if blocked { retryBlocked() }
            let more = readAll()
            // Sleep until input, a wake-up, or the next chore; at most 5 ms while requests wait
            // for a connection, so they leave soon after it is up.
            let chore = min(nextBeat, nextExpiry)
            let untilChore = Int32((chore &- min(MonotonicTime.nanoseconds(), chore)) / 1_000_000) + 1
            let timeout = more ? 0 : min(blocked ? 5 : 100, untilChore)
            for i in fds.indices { fds[i].revents = 0 }
            guard poll(&fds, nfds_t(fds.count), timeout) > 0 else { continue }
            if fds[fds.count - 1].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 256)
                while read(wakePipe.read, &drain, drain.count) > 0 {}
            }
        }
        ioThreadDone.signal()
    }

    /// Reads every socket; true if one still had messages when its budget ran out.
    private func readAll() -> Bool {
        var users: [String?] = []
        let requests = router.withLock { $0?.receiveAll(budget: Self.ioBudget, maxParts: Self.batchLimit + 1, users: &users) } ?? (messages: [], more: false)
        receiveRequests(requests.messages, users: users)
        var more = requests.more
        for peer in linkOrder {
            let link = links[peer]!
            let replies = link.socket.withLock { $0?.receiveAll(budget: Self.ioBudget, maxParts: Self.batchLimit) } ?? (messages: [], more: false)
            receiveReplies(replies.messages, from: link)
            more = more || replies.more
        }
        return more
    }

    private func sendHeartbeats() {
        let beat = Envelope(kind: .heartbeat, correlation: 0, sender: node, type: "heartbeat", payload: membership).encode()
        for peer in linkOrder {
            let link = links[peer]!
            let replies = link.socket.withLock { socket -> (messages: [[[UInt8]]], more: Bool) in
                guard let socket else { return ([], false) }
                // A lost heartbeat is what liveness measures; the next one follows.
                _ = try? socket.send([beat])
                return socket.receiveAll(budget: Self.ioBudget, maxParts: Self.batchLimit)
            }
            receiveReplies(replies.messages, from: link)
        }
    }

    /// Fails every request whose deadline has passed, and forgets it if it was still blocked.
    private func expireRequests(now: UInt64) {
        for peer in linkOrder {
            let expired = links[peer]!.calls.withLock { calls -> [Pending] in
                let keys = Set(calls.pending.filter { $0.value.deadline <= now }.map(\.key))
                guard !keys.isEmpty else { return [] }
                let before = calls.blocked.count
                calls.blocked.removeAll { keys.contains($0.correlation) }
                if calls.blocked.count < before { blockedCount.subtract(before - calls.blocked.count, ordering: .relaxed) }
                return keys.compactMap { calls.pending.removeValue(forKey: $0) }
            }
            for p in expired {
                p.continuation.resume(throwing: Failure("\(peer) did not answer \(p.type) within \(p.timeout)"))
            }
        }
    }

    /// Sends the requests that were waiting for a connection, while the peer takes them.
    private func retryBlocked() {
        for peer in linkOrder {
            let link = links[peer]!
            let waiting = link.calls.withLock { calls -> [Outgoing] in
                defer { calls.blocked = [] }
                return calls.blocked
            }
            guard !waiting.isEmpty else { continue }
            blockedCount.subtract(waiting.count, ordering: .relaxed)
            var unsent: [Outgoing] = []
            let replies = link.socket.withLock { socket -> (messages: [[[UInt8]]], more: Bool) in
                guard let socket else { return ([], false) }
                var start = 0
                while start < waiting.count {
                    let batch = waiting[start..<min(start + Self.batchLimit, waiting.count)]
                    // Unsent requests stay queued and time out with a clear error if the peer does not come back.
                    guard (try? socket.send(batch.map(\.frame))) == true else { break }
                    countSent(messages: 1, envelopes: batch.count)
                    start += batch.count
                }
                unsent = Array(waiting[start...])
                return socket.receiveAll(budget: Self.ioBudget, maxParts: Self.batchLimit)
            }
            if !unsent.isEmpty { block(unsent, on: link) }
            receiveReplies(replies.messages, from: link)
        }
    }
}
