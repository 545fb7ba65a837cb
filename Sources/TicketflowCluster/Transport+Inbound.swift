import Foundation

/// Acting on what arrived: replies resume their callers, requests start their handlers,
/// heartbeats mark liveness, and anything else is dropped, counted and logged. Runs after the
/// socket's lock is released, on whichever thread read the messages.
extension Transport {
    /// Matches replies read from a peer's DEALER (`[envelope…]`) to the requests waiting for them.
    func receiveReplies(_ messages: [[[UInt8]]], from link: Link) {
        guard !messages.isEmpty else { return }
        link.lastHeard.store(MonotonicTime.nanoseconds(), ordering: .relaxed)
        var answers: [Envelope] = []
        for frames in messages {
            // A malformed frame is dropped whole, counted and logged below: its reason does not matter to the sender.
            guard frames.count <= Self.batchLimit, let envelopes = try? frames.map({ try Envelope.decode($0) }) else {
                complain(about: link.peer, "malformed reply")
                continue
            }
            for envelope in envelopes {
                if envelope.kind == .reply || envelope.kind == .failure { answers.append(envelope) } else {
                    complain(about: link.peer, "a \(envelope.kind) arrived on a reply socket")
                }
            }
        }
        let waiting = link.calls.withLock { calls in answers.map { calls.pending.removeValue(forKey: $0.correlation) } }
        for (envelope, pending) in zip(answers, waiting) {
            guard let pending else { continue }   // expired meanwhile
            if envelope.kind == .reply {
                pending.continuation.resume(returning: envelope.payload)
            } else {
                pending.continuation.resume(throwing: Failure(String(decoding: envelope.payload, as: UTF8.self)))
            }
        }
    }

    /// Acts on messages read from the ROUTER: `[identity, envelope…]`, every envelope from the
    /// peer with that identity. A message with anything wrong is dropped whole and counted once.
    /// With CurveZMQ, `users` holds each message's authenticated node (the ZAP handler's user
    /// id for the peer's key): a message whose identity is another node's name is dropped —
    /// the ROUTER hands a name over to its newest connection, so a name must be proven.
    func receiveRequests(_ messages: [[[UInt8]]], users: [String?] = []) {
        for (index, frames) in messages.enumerated() {
            if index < users.count, let claimed = frames.first, users[index].map({ Array($0.utf8) }) != claimed {
                complain(about: String(decoding: claimed, as: UTF8.self), "its key belongs to \(users[index].map { "node \($0)" } ?? "no node"); dropped")
                continue
            }
            guard frames.count >= 2, frames.count <= Self.batchLimit + 1, let identity = String(validating: frames[0], as: UTF8.self) else {
                let who = frames.first.flatMap { String(validating: $0, as: UTF8.self) } ?? "unknown"
                complain(about: who, "expected an identity and 1…\(Self.batchLimit) envelopes, got \(frames.count) frames")
                continue
            }
            var envelopes: [Envelope] = []
            do {
                for frame in frames.dropFirst() { envelopes.append(try Envelope.decode(frame)) }
            } catch {
                complain(about: identity, error.reason)
                continue
            }
            guard let link = links[identity], envelopes.allSatisfy({ $0.sender == identity }) else {
                let claimed = envelopes.first { $0.sender != identity }?.sender ?? identity
                complain(about: identity, "sender '\(claimed)' is not a member of the cluster")
                continue
            }
            for envelope in envelopes { inbound(envelope, identity: frames[0], link: link) }
        }
    }

    private func inbound(_ envelope: Envelope, identity: [UInt8], link: Link) {
        switch envelope.kind {
        case .heartbeat:
            let agrees = envelope.payload == membership
            link.stranger.store(!agrees, ordering: .relaxed)
            if agrees {
                link.lastHeard.store(MonotonicTime.nanoseconds(), ordering: .relaxed)
            } else {
                complain(about: link.peer, "runs a different cluster file; it is treated as down", counted: false)
            }
        case .request where link.stranger.load(ordering: .relaxed):
            respond(to: identity, Envelope(kind: .failure, correlation: envelope.correlation, sender: node, type: envelope.type,
                                           payload: Array("\(node) runs a different cluster file".utf8)))
        case .oneWay where link.stranger.load(ordering: .relaxed):
            return
        case .request, .oneWay:
            link.lastHeard.store(MonotonicTime.nanoseconds(), ordering: .relaxed)
            let handler = self.handler, node = self.node
            Task { [weak self] in
                let result = await handler(envelope)
                guard envelope.kind == .request, let self else { return }
                let reply: Envelope
                switch result {
                case .success(let payload): reply = Envelope(kind: .reply, correlation: envelope.correlation, sender: node, type: envelope.type, payload: payload)
                case .failure(let f): reply = Envelope(kind: .failure, correlation: envelope.correlation, sender: node, type: envelope.type, payload: Array(f.reason.utf8))
                }
                self.respond(to: identity, reply)
            }
        case .reply, .failure:
            complain(about: link.peer, "a \(envelope.kind) arrived on the request socket")
        }
    }

    /// Counts a dropped frame (unless `counted` is false); logs at most once per peer per minute.
    func complain(about peer: String, _ reason: String, counted: Bool = true) {
        if counted { malformed.add(1, ordering: .relaxed) }
        guard complaints.allows(peer) else { return }
        if counted { logger.warning("dropped a malformed frame from \(peer): \(reason) (further ones this minute are only counted)") }
        else { logger.error("peer \(peer) \(reason)") }
    }
}
