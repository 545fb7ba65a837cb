import Testing
import TicketflowCore
@testable import TicketflowReplication

/// The replication protocol under a network that drops, duplicates, delays and reorders
/// messages, with a leader change in the middle: after every run the replicas of the
/// partition hold identical logs (a hash each), every acknowledged batch was on a majority
/// when it was acknowledged and is on every replica at the end, and nothing from an older
/// epoch is accepted.
@Suite struct ReplicationTests {
    /// Three replicas and a network between them: messages wait in a pool, and each step
    /// delivers one of them chosen at random (reordering), sometimes twice (duplication), or
    /// drops it; a replica cut off neither sends nor receives.
    struct Cluster {
        var replicas: [String: Replica]
        var pool: [(from: String, to: String, message: ReplicationMessage)] = []
        var rng: SplitMix64
        var dropRate = 0.2, duplicateRate = 0.1
        var cutOff: Set<String> = []
        /// Index → the replicas that held it when the leader acknowledged it.
        var acknowledged: [UInt64: Set<String>] = [:]
        var steppedDown: [String] = []
        /// What each replica's store holds, in order: what `persist` wrote, or a copy of the
        /// leader's store installed whole (`sendSnapshot`).
        var disk: [String: [LogEntry]] = [:]
        var snapshotsSent = 0

        init(seed: UInt64, names: [String] = ["a", "b", "c"]) {
            replicas = Dictionary(uniqueKeysWithValues: names.map { ($0, Replica(me: $0, members: names)) })
            rng = SplitMix64(seed: seed)
        }

        mutating func perform(_ actions: [ReplicaAction], by name: String) {
            for action in actions {
                switch action {
                case let .persist(keeping, entries):
                    #expect(UInt64(disk[name, default: []].count) == keeping, "\(name) writes after its end")
                    disk[name, default: []].append(contentsOf: entries)
                case let .send(to, message):
                    if !cutOff.contains(name) { pool.append((name, to, message)) }
                case .acknowledge(let upTo):
                    for index in 1...upTo where acknowledged[index] == nil {
                        acknowledged[index] = Set(replicas.keys.filter { disk[$0, default: []].count >= index })
                    }
                case .committed:
                    break
                case .stepDown:
                    steppedDown.append(name)
                case .sendSnapshot(let follower):
                    // The copy reaches the follower whole, or not at all.
                    guard !cutOff.contains(name), !cutOff.contains(follower) else { break }
                    snapshotsSent += 1
                    let copy = disk[name, default: []]
                    disk[follower] = copy
                    let position = copy.last.map { LogPosition(index: $0.index, epoch: $0.epoch) } ?? .start
                    perform(replicas[follower]!.installed(snapshot: position, from: name), by: follower)
                }
            }
        }

        /// Delivers (or drops, or duplicates) one message from the pool; false when it is empty.
        mutating func step(faults: Bool = true) -> Bool {
            guard !pool.isEmpty else { return false }
            let pick = Int(rng.next() % UInt64(pool.count))
            let (from, to, message) = pool.remove(at: pick)
            if cutOff.contains(to) { return true }
            if faults, rng.unit() < dropRate { return true }
            if faults, rng.unit() < duplicateRate { pool.append((from, to, message)) }
            let actions = replicas[to]!.receive(message, from: from)
            perform(actions, by: to)
            return true
        }

        mutating func tick(_ name: String) { perform(replicas[name]!.tick(), by: name) }

        mutating func propose(_ name: String, _ n: Int) {
            guard let (_, actions) = replicas[name]!.propose(Array("batch \(n)".utf8)) else { return }
            perform(actions, by: name)
        }

        /// No faults, every replica connected: ticks and deliveries until nothing changes.
        mutating func settle(leader: String) {
            cutOff = []
            for _ in 0..<200 {
                tick(leader)
                while step(faults: false) {}
            }
        }

        /// Proposes batches `numbers` at `leader`, delivering up to `steps - 1` messages (with
        /// faults) after each and ticking every `tickEvery` batches.
        mutating func propose(_ leader: String, _ numbers: ClosedRange<Int>, steps: UInt64, tickEvery: Int) {
            for n in numbers {
                propose(leader, n)
                for _ in 0..<Int(rng.next() % steps) { _ = step() }
                if n % tickEvery == 0 { tick(leader) }
            }
        }

        func hash(_ name: String) -> Int {
            var hasher = Hasher()
            hasher.combine(disk[name, default: []])
            return hasher.finalize()
        }
    }

    @Test(arguments: 1...40)
    func replicasAgreeUnderDropsDuplicatesAndReordering(seed: UInt64) {
        var cluster = Cluster(seed: seed)
        cluster.perform(cluster.replicas["a"]!.lead(epoch: Epoch(1)), by: "a")
        cluster.propose("a", 1...60, steps: 4, tickEvery: 5)
        cluster.settle(leader: "a")
        let leader = cluster.replicas["a"]!
        #expect(leader.committed == 60, "seed \(seed)")
        #expect(Set(["a", "b", "c"].map { cluster.hash($0) }).count == 1, "seed \(seed): the logs differ")
        for (index, holders) in cluster.acknowledged {
            #expect(holders.count >= 2, "seed \(seed): entry \(index) acknowledged on \(holders.sorted()) only")
        }
    }

    /// The leader dies with some batches acknowledged and some not; the in-sync follower with
    /// the longest log leads epoch 2; the old leader comes back, sees the newer epoch, steps
    /// down and drops its unacknowledged tail. Every acknowledged batch survives everywhere.
    @Test(arguments: 1...40)
    func aLeaderChangeLosesNoAcknowledgedBatch(seed: UInt64) {
        var cluster = Cluster(seed: seed)
        cluster.perform(cluster.replicas["a"]!.lead(epoch: Epoch(1)), by: "a")
        cluster.propose("a", 1...30, steps: 3, tickEvery: 4)
        // a is cut off (dies, or is partitioned away) with its last batches on itself alone.
        cluster.cutOff = ["a"]
        for n in 31...35 { cluster.propose("a", n) }
        let acknowledgedBefore = cluster.replicas["a"]!.committed
        // The coordinator's rule: a new leader holds every acknowledged batch (in sync);
        // of those, the longer log.
        let candidates = ["b", "c"].filter { cluster.replicas[$0]!.last.index >= acknowledgedBefore }
        #expect(!candidates.isEmpty, "seed \(seed): a majority holds every acknowledged batch, so one of b, c does")
        let next = candidates.max { cluster.replicas[$0]!.last.index < cluster.replicas[$1]!.last.index }!
        cluster.pool.removeAll { $0.from == "a" }   // what a sent before dying is lost
        cluster.perform(cluster.replicas[next]!.lead(epoch: Epoch(2)), by: next)
        for n in 36...50 {
            cluster.propose(next, n)
            for _ in 0..<Int(cluster.rng.next() % 3) { _ = cluster.step() }
        }
        // a comes back.
        cluster.settle(leader: next)
        #expect(cluster.steppedDown.contains("a") || !cluster.replicas["a"]!.isLeader, "seed \(seed)")
        #expect(!cluster.replicas["a"]!.isLeader && cluster.replicas["a"]!.epoch == Epoch(2))
        #expect(Set(["a", "b", "c"].map { cluster.hash($0) }).count == 1, "seed \(seed): the logs differ after the leader change")
        let final = cluster.disk[next, default: []]
        for index in 1...max(1, acknowledgedBefore) where acknowledgedBefore > 0 {
            #expect(final.count >= index && final[Int(index - 1)].epoch == Epoch(1), "seed \(seed): acknowledged batch \(index) lost")
        }
        // a's batches 31…35 were never acknowledged: replaced by the new leader's.
        #expect(final.allSatisfy { $0.epoch == Epoch(1) ? $0.index <= 35 : true })
        #expect(cluster.replicas[next]!.committed == UInt64(final.count))
    }

    /// A new leader that writes nothing yet: the deposed leader's unacknowledged batches lie
    /// beyond the new leader's end, match nothing to conflict with, and are dropped all the same.
    @Test func aDeposedLeadersTailBeyondTheNewEndIsDropped() {
        var cluster = Cluster(seed: 3)
        cluster.perform(cluster.replicas["a"]!.lead(epoch: Epoch(1)), by: "a")
        for n in 1...10 { cluster.propose("a", n) }
        cluster.settle(leader: "a")
        cluster.cutOff = ["a"]
        for n in 11...15 { cluster.propose("a", n) }
        #expect(cluster.disk["a"]!.count == 15 && cluster.replicas["a"]!.committed == 10)
        cluster.pool.removeAll()
        cluster.perform(cluster.replicas["b"]!.lead(epoch: Epoch(2)), by: "b")
        cluster.settle(leader: "b")
        #expect(cluster.disk["a"]!.count == 10, "a kept batches 11…15 that no one acknowledged")
        #expect(cluster.snapshotsSent >= 1, "a's store, holding what no one acknowledged, is replaced by a copy of b's")
        #expect(Set(["a", "b", "c"].map { cluster.hash($0) }).count == 1)
        // Acknowledged entries of epoch 1 become acknowledged under epoch 2 once it writes.
        cluster.propose("b", 16)
        cluster.settle(leader: "b")
        #expect(cluster.replicas["b"]!.committed == 11 && cluster.replicas["a"]!.committed == 11)
    }

    /// A message from an older epoch changes nothing and tells its sender so.
    @Test func anOlderEpochIsRefused() {
        var b = Replica(me: "b", members: ["a", "b", "c"])
        let entry = LogEntry(index: 1, epoch: Epoch(2), payload: [1])
        _ = b.receive(.append(epoch: Epoch(2), previous: .start, entries: [entry], committed: 0, last: 1), from: "c")
        let old = LogEntry(index: 1, epoch: Epoch(1), payload: [9])
        let answer = b.receive(.append(epoch: Epoch(1), previous: .start, entries: [old], committed: 1, last: 1), from: "a")
        #expect(answer == [.send(to: "a", .stale(epoch: Epoch(2)))])
        #expect(b.last == LogPosition(index: 1, epoch: Epoch(2)) && b.committed == 0 && b.epoch == Epoch(2))
        // A leader that hears of a newer epoch steps down at once.
        var a = Replica(me: "a", members: ["a", "b", "c"])
        _ = a.lead(epoch: Epoch(1))
        #expect(a.isLeader)
        let down = a.receive(.stale(epoch: Epoch(2)), from: "b")
        #expect(down == [.stepDown(newer: Epoch(2))] && !a.isLeader)
        #expect(a.propose([1]) == nil)
    }

    /// With one replica of three reachable, nothing is acknowledged: writes wait, never at risk.
    @Test func withoutAMajorityNothingIsAcknowledged() {
        var cluster = Cluster(seed: 7)
        cluster.perform(cluster.replicas["a"]!.lead(epoch: Epoch(1)), by: "a")
        cluster.cutOff = ["b", "c"]
        for n in 1...10 { cluster.propose("a", n) }
        for _ in 0..<50 { cluster.tick("a"); while cluster.step(faults: false) {} }
        #expect(cluster.replicas["a"]!.committed == 0 && cluster.acknowledged.isEmpty)
        cluster.settle(leader: "a")
        #expect(cluster.replicas["a"]!.committed == 10)
    }
}

extension ReplicationTests {
    /// The leader keeps a window of entries in memory; a follower cut off for longer than the
    /// window gets a copy of the leader's store and follows from there.
    @Test(arguments: 1...10)
    func aFollowerBehindTheWindowGetsACopyOfTheStore(seed: UInt64) {
        var cluster = Cluster(seed: seed)
        cluster.perform(cluster.replicas["a"]!.lead(epoch: Epoch(1)), by: "a")
        cluster.cutOff = ["c"]
        for n in 1...40 {
            cluster.propose("a", n)
            while cluster.step(faults: false) {}
            cluster.replicas["a"]!.compactLeaderLog(window: 8)
        }
        #expect(cluster.replicas["a"]!.committed == 40)
        #expect(cluster.replicas["a"]!.base.index >= 32, "the window bounds the leader's memory")
        cluster.settle(leader: "a")
        #expect(cluster.snapshotsSent >= 1)
        #expect(Set(["a", "b", "c"].map { cluster.hash($0) }).count == 1, "seed \(seed)")
        cluster.propose("a", 41...41, steps: 3, tickEvery: 1)
        cluster.settle(leader: "a")
        #expect(cluster.disk["c"]!.count == 41)
    }
}

/// Changing a partition's replicas one at a time (docs/replication.md, "Changing the
/// replicas"): a fourth node catches up as a learner, then replaces one member under the joint
/// rule, with drops, duplicates and reordering throughout; then the leader dies and the new
/// set elects a successor. No acknowledged batch may be lost at any point.
@Suite struct ReplicaSetChangeTests {
    typealias Cluster = ReplicationTests.Cluster

    /// Which of `set` hold entry `index` on disk.
    static func holders(_ cluster: Cluster, _ index: UInt64, in set: [String]) -> [String] {
        set.filter { cluster.disk[$0, default: []].count >= Int(index) }
    }

    @Test(arguments: 1...30)
    func aLearnerReplacesAMemberAndNoAcknowledgedBatchIsLost(seed: UInt64) {
        var cluster = Cluster(seed: seed)
        cluster.replicas["d"] = Replica(me: "d", members: ["a", "b", "c"])   // a learner: not a member yet
        cluster.perform(cluster.replicas["a"]!.lead(epoch: Epoch(1)), by: "a")
        cluster.propose("a", 1...20, steps: 4, tickEvery: 5)
        cluster.perform(cluster.replicas["a"]!.addLearner("d"), by: "a")
        #expect(cluster.replicas["a"]!.followers.sorted() == ["b", "c", "d"])
        cluster.propose("a", 21...40, steps: 4, tickEvery: 5)
        // A learner counts for nothing: what a, b, c acknowledge is theirs alone to decide.
        for (index, holders) in cluster.acknowledged {
            #expect(Set(holders).intersection(["a", "b", "c"]).count >= 2, "seed \(seed): \(index) on \(holders.sorted())")
        }
        let strangerJoins = cluster.replicas["a"]!.beginChange(to: ["a", "b", "e"])
        #expect(!strangerJoins, "only a learner may join")
        let twoLeave = cluster.replicas["a"]!.beginChange(to: ["a", "d"])
        #expect(!twoLeave, "one node in, one out, at a time")
        let began = cluster.replicas["a"]!.beginChange(to: ["a", "b", "d"])
        #expect(began)
        let jointFrom = cluster.replicas["a"]!.committed
        cluster.propose("a", 41...60, steps: 4, tickEvery: 5)
        var rounds = 0
        while !cluster.replicas["a"]!.changeIsReady, rounds < 500 {
            cluster.tick("a"); for _ in 0..<6 { _ = cluster.step() }; rounds += 1
        }
        #expect(cluster.replicas["a"]!.changeIsReady, "seed \(seed): d never caught up")
        // Joint: acknowledged since the change began means on a majority of both sets.
        for (index, holders) in cluster.acknowledged where index > jointFrom {
            #expect(Set(holders).intersection(["a", "b", "c"]).count >= 2 && Set(holders).intersection(["a", "b", "d"]).count >= 2,
                    "seed \(seed): \(index) acknowledged on \(holders.sorted()) during the change")
        }
        // Ready: everything acknowledged so far is on a majority of the new set.
        for index in stride(from: UInt64(1), through: cluster.replicas["a"]!.committed, by: 1) {
            #expect(Self.holders(cluster, index, in: ["a", "b", "d"]).count >= 2, "seed \(seed): \(index) not on a majority of the new set")
        }
        // The coordinator records the new set; followers read it back; c is gone for good.
        cluster.perform(cluster.replicas["a"]!.finishChange(), by: "a")
        for name in ["b", "d"] { cluster.replicas[name]!.reconfigure(members: ["a", "b", "d"]) }
        #expect(cluster.replicas["a"]!.members == ["a", "b", "d"] && cluster.replicas["a"]!.followers.sorted() == ["b", "d"])
        cluster.pool.removeAll { $0.to == "c" || $0.from == "c" }
        let before = cluster.acknowledged.count
        for n in 61...80 {
            cluster.propose("a", n)
            for _ in 0..<Int(cluster.rng.next() % 4) { if !cluster.step() { break }; cluster.pool.removeAll { $0.to == "c" } }
            if n % 5 == 0 { cluster.tick("a") }
        }
        for (index, holders) in cluster.acknowledged where index > UInt64(before) {
            #expect(Set(holders).intersection(["a", "b", "d"]).count >= 2, "seed \(seed): \(index) on \(holders.sorted()) after the change")
        }
        // a dies; of the new set's majority {b, d} the more advanced log leads epoch 2.
        let acknowledged = cluster.replicas["a"]!.committed
        cluster.pool.removeAll { $0.from == "a" || $0.to == "c" }
        let next = ["b", "d"].max { cluster.replicas[$0]!.last.index < cluster.replicas[$1]!.last.index }!
        #expect(cluster.replicas[next]!.last.index >= acknowledged, "seed \(seed): the successor lacks an acknowledged batch")
        cluster.perform(cluster.replicas[next]!.lead(epoch: Epoch(2)), by: next)
        for n in 81...90 { cluster.propose(next, n) }
        for _ in 0..<200 { cluster.tick(next); while cluster.step(faults: false) { cluster.pool.removeAll { $0.to == "c" } } }
        #expect(Set(["a", "b", "d"].map { cluster.hash($0) }).count == 1, "seed \(seed): the new set's logs differ")
        let final = cluster.disk[next, default: []]
        #expect(final.count >= Int(acknowledged), "seed \(seed)")
        #expect(final.prefix(Int(acknowledged)).allSatisfy { $0.epoch == Epoch(1) }, "seed \(seed): an acknowledged batch was replaced")
        #expect(cluster.replicas[next]!.committed == UInt64(final.count))
    }

    /// A set that shrinks (a node removed with no replacement): what was acknowledged on the
    /// removed node and one other must reach the rest before the smaller set may be recorded.
    @Test func aShrinkingSetWaitsUntilItsMajorityHoldsWhatWasAcknowledged() {
        var cluster = Cluster(seed: 11)
        cluster.perform(cluster.replicas["a"]!.lead(epoch: Epoch(1)), by: "a")
        cluster.cutOff = ["b"]
        for n in 1...5 { cluster.propose("a", n); while cluster.step(faults: false) {} }
        #expect(cluster.replicas["a"]!.committed == 5, "acknowledged on a and c")
        let began = cluster.replicas["a"]!.beginChange(to: ["a", "b"])
        #expect(began)
        #expect(!cluster.replicas["a"]!.changeIsReady, "b lacks what a and c acknowledged: {a, b} is no majority holding it")
        cluster.settle(leader: "a")
        #expect(cluster.replicas["a"]!.changeIsReady && cluster.disk["b"]!.count == 5)
    }

    /// A change that cannot be recorded is abandoned: the old set counts alone again, and the
    /// learner can be dropped.
    @Test func anAbortedChangeLeavesTheOldSet() {
        var cluster = Cluster(seed: 5)
        cluster.replicas["d"] = Replica(me: "d", members: ["a", "b", "c"])
        cluster.perform(cluster.replicas["a"]!.lead(epoch: Epoch(1)), by: "a")
        cluster.perform(cluster.replicas["a"]!.addLearner("d"), by: "a")
        let began = cluster.replicas["a"]!.beginChange(to: ["a", "b", "d"])
        #expect(began)
        cluster.replicas["a"]!.abortChange()
        cluster.replicas["a"]!.dropLearner("d")
        #expect(cluster.replicas["a"]!.followers.sorted() == ["b", "c"] && cluster.replicas["a"]!.members == ["a", "b", "c"])
        cluster.cutOff = ["b"]
        cluster.propose("a", 1...5, steps: 1, tickEvery: 1)
        for _ in 0..<20 { cluster.tick("a"); while cluster.step(faults: false) {} }
        #expect(cluster.replicas["a"]!.committed == 5, "a and c are a majority of the old set")
        #expect(cluster.disk["d", default: []].isEmpty, "a dropped learner is sent nothing")
    }
}
