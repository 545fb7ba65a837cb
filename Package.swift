// swift-tools-version:6.1
import PackageDescription

// Layers (inside out): Core → Workflow → Runtime → Storage → Node → Server/Cluster → ticketflow.
// An inner module never imports an outer one; see docs/architecture.md.
/// The products targets depend on, named once.
enum Dep {
    static func product(_ name: String, in package: String) -> Target.Dependency { .product(name: name, package: package) }
    static func nio(_ module: String) -> Target.Dependency { product(module, in: "swift-nio") }
    // Storage, configuration and logs.
    static let yams = product("Yams", in: "Yams"), grdb = product("GRDB", in: "GRDB.swift"), log = product("Logging", in: "swift-log")
    // HTTP and its services.
    static let hummingbird = product("Hummingbird", in: "hummingbird"), httpTypes = product("HTTPTypes", in: "swift-http-types"),
               lifecycle = product("ServiceLifecycle", in: "swift-service-lifecycle"), httpClient = product("AsyncHTTPClient", in: "async-http-client")
    // Identity and pages.
    static let crypto = product("Crypto", in: "swift-crypto"), auth = product("HummingbirdAuth", in: "hummingbird-auth"),
               bcrypt = product("HummingbirdBcrypt", in: "hummingbird-auth"), mustache = product("Mustache", in: "swift-mustache")
    // Measuring.
    static let histogram = product("Histogram", in: "hdrhistogram-swift")
}

let package = Package(
    name: "Ticketflow",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ticketflow", targets: ["ticketflow"]),
        .executable(name: "ticketflow-bench", targets: ["TicketflowBench"]),
        .executable(name: "ticketflow-fuzz", targets: ["TicketflowFuzz"]),
        .library(name: "TicketflowCore", targets: ["TicketflowCore"]),
        .library(name: "TicketflowWorkflow", targets: ["TicketflowWorkflow"]),
        .library(name: "TicketflowRuntime", targets: ["TicketflowRuntime"]),
    ],
    dependencies: [
        // Storage, configuration, the command line, logs and metrics.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"), .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"), .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"), .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // HTTP, in and out, and the services around it.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"), .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"), .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Identity and pages.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"), .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .target(name: "TicketflowCore"),
        // Every YAML file is read through one budget (size, depth, nodes after alias expansion).
        .target(name: "TicketflowYAML", dependencies: [Dep.yams]),
        .target(name: "TicketflowWorkflow", dependencies: ["TicketflowCore", "TicketflowYAML", Dep.yams]),
        .target(name: "TicketflowRuntime", dependencies: ["TicketflowCore", "TicketflowWorkflow"]),
        // Storage stores and decides nothing: it knows the core's values and SQLite, no more.
        .target(name: "TicketflowStorage", dependencies: ["TicketflowCore", Dep.grdb]),
        // The HTTP API's request and response values, shared by the server, the storm client,
        // the command line and the tests.
        // Exclusivity is not checked at run time here: JSONOutput's writer is one object used by
        // one call on one thread, and the checks on its buffer were a tenth of writing a ticket.
        .target(name: "TicketflowAPI", dependencies: ["TicketflowCore"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        // The node: a sans-IO state machine and the actor that performs its actions.
        .target(name: "TicketflowNode", dependencies: [
            "TicketflowCore", "TicketflowWorkflow", "TicketflowRuntime", "TicketflowStorage", Dep.log,
        ]),
        // etcd's v3 API over its JSON gateway: leases, take-if-free, ranges (issue 14).
        .target(name: "TicketflowCoordination", dependencies: [Dep.httpClient, Dep.nio("NIOCore"), Dep.nio("NIOFoundationCompat")]),
        // Partition replication's protocol, sans IO (issue 14; docs/replication.md).
        .target(name: "TicketflowReplication"),
        // Replay and "why" over a data directory: the journal folded and explained.
        .target(name: "TicketflowReplay", dependencies: [
            "TicketflowCore", "TicketflowWorkflow", "TicketflowRuntime", "TicketflowStorage",
        ]),
        .target(name: "TicketflowServer", dependencies: [
            "TicketflowCore", "TicketflowWorkflow", "TicketflowRuntime", "TicketflowStorage",
            "TicketflowNode", "TicketflowAPI", Dep.httpClient, Dep.hummingbird, Dep.httpTypes, Dep.lifecycle,
            Dep.crypto, Dep.auth, Dep.bcrypt, Dep.mustache,
            Dep.log, .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        // The cluster's HTTP side: forwarding to owners, gathered views, cluster-wide routing,
        // the node service other nodes call. A single node's HTTP layer does not need it.
        .target(name: "TicketflowClusterHTTP", dependencies: [
            "TicketflowServer", "TicketflowCluster", "TicketflowCoordination", "TicketflowNode", "TicketflowAPI", "TicketflowCore",
            "TicketflowStorage", "TicketflowReplication", Dep.hummingbird, Dep.httpTypes, Dep.lifecycle, Dep.log,
        ]),
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .target(name: "TicketflowCluster", dependencies: ["CZeroMQ", "TicketflowCore", "TicketflowYAML", Dep.log]),
        .target(name: "TicketflowStorm", dependencies: [
            "TicketflowCore", "TicketflowWorkflow", "TicketflowRuntime", "TicketflowAPI", Dep.nio("NIOCore"),
            Dep.nio("NIOPosix"), Dep.nio("NIOHTTP1"), Dep.histogram, "TicketflowYAML",
        ]),
        .target(name: "TicketflowTesting", dependencies: [
            "TicketflowCore", "TicketflowWorkflow", "TicketflowRuntime", "TicketflowStorage",
            "TicketflowNode", Dep.httpClient, Dep.nio("NIOCore"), Dep.nio("NIOHTTP1"),
            Dep.nio("NIOFoundationCompat"),
        ]),
        .executableTarget(name: "ticketflow", dependencies: [
            "TicketflowCore", "TicketflowWorkflow", "TicketflowRuntime", "TicketflowStorm",
            "TicketflowStorage", "TicketflowServer", "TicketflowClusterHTTP", "TicketflowReplay", "TicketflowAPI", "TicketflowCoordination",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "CMallocStats"),
        // The workflow loader's fuzz target: built with `-sanitize=fuzzer -DTICKETFLOW_FUZZ` by
        // `make fuzz`; built plainly it replays a corpus (tests/fuzz/workflow) in `make test`.
        // Linked by lld: gold fails (an internal error) on libFuzzer's archive beside SwiftPM's
        // renamed main.
        .executableTarget(name: "TicketflowFuzz", dependencies: ["TicketflowWorkflow"],
                          linkerSettings: [.unsafeFlags(["-use-ld=lld"])]),
        .executableTarget(name: "TicketflowBench", dependencies: [
            "CMallocStats", "TicketflowCluster", "TicketflowCore", "TicketflowWorkflow", "TicketflowRuntime",
            "TicketflowStorage", "TicketflowNode", "TicketflowStorm", "TicketflowAPI", "TicketflowReplay", Dep.grdb, Dep.histogram, Dep.log,
        ]),
        .testTarget(name: "TicketflowCoreTests", dependencies: ["TicketflowCore"]),
        .testTarget(name: "TicketflowAPITests", dependencies: ["TicketflowAPI"]),
        .testTarget(name: "TicketflowWorkflowTests", dependencies: [
            "TicketflowWorkflow", "TicketflowYAML", "TicketflowTesting"], exclude: ["Fixtures",
        ]),
        .testTarget(name: "TicketflowRuntimeTests", dependencies: ["TicketflowRuntime", "TicketflowTesting"]),
        .testTarget(name: "TicketflowStorageTests", dependencies: ["TicketflowStorage", "TicketflowTesting", Dep.grdb]),
        .testTarget(name: "TicketflowNodeTests", dependencies: [
            "TicketflowNode", "TicketflowTesting", Dep.grdb], exclude: ["Fixtures",
        ]),
        .testTarget(name: "TicketflowClusterHTTPTests", dependencies: [
            "TicketflowClusterHTTP", "TicketflowServer", "TicketflowTesting", "TicketflowCluster",
            "TicketflowNode", "TicketflowAPI", Dep.httpTypes,
        ]),
        .testTarget(name: "TicketflowServerTests", dependencies: [
            "TicketflowServer", "TicketflowTesting", "TicketflowAPI", "TicketflowNode", Dep.httpClient,
            .product(name: "HummingbirdTesting", package: "hummingbird"), Dep.yams, Dep.hummingbird,
            Dep.httpTypes,
        ]),
        .testTarget(name: "TicketflowClusterTests", dependencies: ["TicketflowCluster", "TicketflowCore"]),
        .testTarget(name: "TicketflowReplicationTests", dependencies: ["TicketflowReplication", "TicketflowCore"]),
        .testTarget(name: "TicketflowCoordinationTests", dependencies: ["TicketflowCoordination", "TicketflowTesting"]),
        .testTarget(name: "TicketflowReplayTests", dependencies: ["TicketflowReplay", "TicketflowTesting", "TicketflowWorkflow", Dep.grdb]),
        .testTarget(name: "TicketflowStormTests", dependencies: ["TicketflowStorm", "TicketflowTesting"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TicketflowTesting", "TicketflowCluster", "TicketflowCoordination"]),
    ],
    swiftLanguageModes: [.v6]
)
