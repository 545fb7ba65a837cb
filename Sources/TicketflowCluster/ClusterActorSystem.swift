import Distributed
import Foundation
import Logging
import Synchronization

/// Where a distributed actor lives: its node and its name there. Well-known actors (one per
/// node, such as the node's request handler) have fixed names, so any node can address
/// them from the cluster file alone.
public struct ClusterActorID: Hashable, Sendable, CustomStringConvertible {
    public var node: String
    public var name: String
    public init(node: String, name: String) { self.node = node; self.name = name }
    public var description: String { "\(name)@\(node)" }
}

/// Why a distributed call failed: the peer did not answer, or the target threw.
public struct ClusterCallError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Swift's `distributed actor` over our ZeroMQ transport. A call to an actor on this node is
/// an ordinary actor call (the runtime never reaches `remoteCall`: no network, no
/// serializer); a call to an actor elsewhere is encoded with `WireCodable` and travels as
/// one request/reply message of type `actor`.
public final class ClusterActorSystem: DistributedActorSystem, Sendable {
    public typealias ActorID = ClusterActorID
    public typealias InvocationEncoder = WireInvocationEncoder
    public typealias InvocationDecoder = WireInvocationDecoder
    public typealias ResultHandler = WireResultHandler
    public typealias SerializationRequirement = WireCodable

    public let node: String
    public let transport: Transport
    /// Timeout of a remote call.
    public let callTimeout: Duration
    private let actors = Mutex<[String: any DistributedActor]>([:])
    private let nextID = Atomic<Int>(0)
    private let box: SystemBox

    /// The name `assignID` gives the actor being initialised in this task (see `withName`).
    @TaskLocal static var pendingName: String?

    /// Binds `endpoint` and connects to `peers` (name → endpoint). `handler` answers
    /// transport messages of other types than `actor`.
    public init(node: String, endpoint: String, peers: [String: String], membership: [UInt8] = [], security: LinkSecurity = .plain,
                callTimeout: Duration = .seconds(5), logger: Logger = Logger(label: "ticketflow.cluster"),
                otherMessages: @escaping Transport.Handler = { .failure(.init("unknown message type \($0.type)")) }) throws {
        let box = SystemBox()
        self.box = box
        self.node = node
        self.callTimeout = callTimeout
        transport = try Transport(node: node, endpoint: endpoint, peers: peers, membership: membership, security: security, logger: logger) { envelope in
            guard envelope.type == "actor" else { return await otherMessages(envelope) }
            guard let system = box.system.withLock({ $0 }) else { return .failure(.init("node is starting")) }
            return await system.receive(envelope)
        }
        box.system.withLock { $0 = self }
    }

    /// Holds the system for the transport's handler, which is made before the system exists.
    final class SystemBox: Sendable {
        let system = Mutex<ClusterActorSystem?>(nil)
    }

    public func stop() {
        box.system.withLock { $0 = nil }
        transport.stop()
    }

    /// Creates a well-known actor: `make` runs with `name` as the id `assignID` gives.
    public func withName<Act: DistributedActor>(_ name: String, _ make: () throws -> Act) rethrows -> Act {
        try Self.$pendingName.withValue(name) { try make() }
    }

    // MARK: DistributedActorSystem

    public func resolve<Act>(id: ActorID, as actorType: Act.Type) throws -> Act? where Act: DistributedActor, Act.ID == ActorID {
        guard id.node == node else { return nil }   // a remote proxy; calls go through remoteCall
        guard let local = actors.withLock({ $0[id.name] }) as? Act else { throw ClusterCallError("no actor \(id) on this node") }
        return local
    }

    public func assignID<Act>(_ actorType: Act.Type) -> ActorID where Act: DistributedActor, Act.ID == ActorID {
        ClusterActorID(node: node, name: Self.pendingName ?? "actor-\(nextID.add(1, ordering: .relaxed).newValue)")
    }

    public func actorReady<Act>(_ actor: Act) where Act: DistributedActor, Act.ID == ActorID {
        actors.withLock { $0[actor.id.name] = actor }
    }

    public func resignID(_ id: ActorID) {
        _ = actors.withLock { $0.removeValue(forKey: id.name) }
    }

    public func makeInvocationEncoder() -> InvocationEncoder { WireInvocationEncoder() }

    public func remoteCall<Act, Err, Res>(on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder,
                                          throwing: Err.Type, returning: Res.Type) async throws -> Res
    where Act: DistributedActor, Act.ID == ActorID, Err: Error, Res: WireCodable {
        var reader = WireReader(try await send(actor.id, target, invocation))
        return try Res(wire: &reader)
    }

    public func remoteCallVoid<Act, Err>(on actor: Act, target: RemoteCallTarget, invocation: inout InvocationEncoder,
                                         throwing: Err.Type) async throws
    where Act: DistributedActor, Act.ID == ActorID, Err: Error {
        _ = try await send(actor.id, target, invocation)
    }

    /// One call on the wire: `[actor name][target][argument count][arguments…]`; the answer
    /// is `[0][value]` or `[1][error text]`.
    private func send(_ id: ActorID, _ target: RemoteCallTarget, _ invocation: InvocationEncoder) async throws -> [UInt8] {
        var w = WireWriter()
        w.string(id.name)
        w.string(target.identifier)
        w.uint(UInt64(invocation.arguments.count))
        for argument in invocation.arguments { w.blob(argument) }
        let reply: [UInt8]
        do { reply = try await transport.request(id.node, type: "actor", payload: w.bytes, timeout: callTimeout) } catch {
            throw ClusterCallError("\(error)")
        }
        guard let status = reply.first else { throw ClusterCallError("empty answer from \(id)") }
        let rest = Array(reply.dropFirst())
        if status == 0 { return rest }
        throw ClusterCallError(String(decoding: rest, as: UTF8.self))
    }

    /// Runs a call that arrived from a peer on the local actor it names.
    private func receive(_ envelope: Envelope) async -> Result<[UInt8], Transport.Failure> {
        var r = WireReader(envelope.payload)
        let name: String, target: String
        var arguments: [[UInt8]] = []
        do {
            name = try r.string()
            target = try r.string()
            let count = try r.uint()
            guard count <= 32 else { return .failure(.init("too many arguments")) }
            for _ in 0..<count { arguments.append(try r.blob()) }
        } catch {
            return .failure(.init("malformed call: \(error)"))
        }
        guard let actor = actors.withLock({ $0[name] }) else { return .success([1] + Array("no actor \(name) on \(node)".utf8)) }
        var decoder = WireInvocationDecoder(arguments: arguments)
        let handler = WireResultHandler()
        do {
            try await executeDistributedTarget(on: actor, target: RemoteCallTarget(target), invocationDecoder: &decoder, handler: handler)
        } catch {
            return .success([1] + Array("\(error)".utf8))
        }
        return .success(handler.answer.withLock { $0 } ?? [1] + Array("no result".utf8))
    }
}

/// Records a call's arguments in wire form.
public struct WireInvocationEncoder: DistributedTargetInvocationEncoder {
    public typealias SerializationRequirement = WireCodable
    var arguments: [[UInt8]] = []

    public mutating func recordGenericSubstitution<T>(_ type: T.Type) throws {}

    public mutating func recordArgument<Value: SerializationRequirement>(_ argument: RemoteCallArgument<Value>) throws {
        var w = WireWriter()
        argument.value.encode(to: &w)
        arguments.append(w.bytes)
    }

    public mutating func recordErrorType<E: Error>(_ type: E.Type) throws {}
    public mutating func recordReturnType<R: SerializationRequirement>(_ type: R.Type) throws {}
    public mutating func doneRecording() throws {}
}

/// Reads a call's arguments back, in order.
public struct WireInvocationDecoder: DistributedTargetInvocationDecoder {
    public typealias SerializationRequirement = WireCodable
    var arguments: [[UInt8]]
    var next = 0

    public mutating func decodeGenericSubstitutions() throws -> [Any.Type] { [] }

    public mutating func decodeNextArgument<Argument: WireCodable>() throws -> Argument {
        guard next < arguments.count else { throw ClusterCallError("missing argument \(next + 1)") }
        var r = WireReader(arguments[next])
        next += 1
        return try Argument(wire: &r)
    }

    public mutating func decodeErrorType() throws -> Any.Type? { nil }
    public mutating func decodeReturnType() throws -> Any.Type? { nil }
}

/// Turns what the target returned or threw into the answer bytes.
public final class WireResultHandler: DistributedTargetInvocationResultHandler, Sendable {
    public typealias SerializationRequirement = WireCodable
    let answer = Mutex<[UInt8]?>(nil)

    public func onReturn<Success: WireCodable>(value: Success) async throws {
        var w = WireWriter()
        value.encode(to: &w)
        answer.withLock { $0 = [0] + w.bytes }
    }

    public func onReturnVoid() async throws { answer.withLock { $0 = [0] } }

    public func onThrow<Err: Error>(error: Err) async throws { answer.withLock { $0 = [1] + Array("\(error)".utf8) } }
}
