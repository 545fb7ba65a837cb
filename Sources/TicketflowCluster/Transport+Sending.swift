import Foundation

/// Sending: the task started by whoever found a socket's outbox idle sends everything queued
/// there, in multipart messages of at most `batchLimit` envelopes, then reads what arrived on
/// that socket.
extension Transport {
    /// How many messages a sender reads after its send before leaving the rest to the I/O thread.
    static let inlineBudget = 64

    /// Sends the peer's queued frames until its outbox is empty.
    func flush(_ link: Link) {
        while let batch = link.calls.withLock({ $0.outbox.next(limit: Self.batchLimit) }) {
            let (sent, inbox) = link.socket.withLock { socket -> (Bool, (messages: [[[UInt8]]], more: Bool)) in
                guard let socket else { return (false, ([], false)) }
                // A failed send is a message not sent: the caller's request times out with a clear error.
                let sent = (try? socket.send(batch.map(\.frame))) ?? false
                return (sent, socket.receiveAll(budget: Self.inlineBudget, maxParts: Self.batchLimit))
            }
            if sent { countSent(messages: 1, envelopes: batch.count) } else { block(batch, on: link) }
            receiveReplies(inbox.messages, from: link)
            if inbox.more { wake() }
        }
    }

    /// Keeps requests the peer could not take (no live connection) for the I/O thread to
    /// retry until they expire; one-way messages are dropped, as they promise no delivery.
    func block(_ batch: [Outgoing], on link: Link) {
        let added = link.calls.withLock { calls -> Int in
            guard !calls.stopped else { return 0 }
            let waiting = batch.filter { $0.correlation != 0 && calls.pending[$0.correlation] != nil }
            calls.blocked += waiting
            return waiting.count
        }
        // The I/O thread retries often only while some requests are blocked: tell it.
        if added > 0, blockedCount.add(added, ordering: .relaxed).newValue == added { wake() }
    }

    /// Sends the queued replies until none are left, one multipart message per peer per round.
    func flushReplies() {
        while let batch = replies.withLock({ $0.next(limit: Self.batchLimit) }) {
            var messages: [[[UInt8]]] = []
            for reply in batch {
                if let i = messages.firstIndex(where: { $0[0] == reply.identity }) {
                    messages[i].append(reply.frame)
                } else {
                    messages.append([reply.identity, reply.frame])
                }
            }
            var users: [String?] = []
            let inbox = router.withLock { socket -> (messages: [[[UInt8]]], more: Bool) in
                guard let socket else { return ([], false) }
                // One-way messages are best-effort by contract (heartbeats, routing facts are sent again).
                for message in messages { _ = try? socket.send(message) }
                countSent(messages: messages.count, envelopes: batch.count)
                return socket.receiveAll(budget: Self.inlineBudget, maxParts: Self.batchLimit + 1, users: &users)
            }
            receiveRequests(inbox.messages, users: users)
            if inbox.more { wake() }
        }
    }
}
