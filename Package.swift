// swift-tools-version:6.1
import PackageDescription

// Layers (inside out): Core → Workflow → Runtime → ticketflow.
// An inner module never imports an outer one; see docs/architecture.md.
let package = Package(
    name: "Ticketflow",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ticketflow", targets: ["ticketflow"]),
        .library(name: "TicketflowCore", targets: ["TicketflowCore"]),
        .library(name: "TicketflowWorkflow", targets: ["TicketflowWorkflow"]),
        .library(name: "TicketflowRuntime", targets: ["TicketflowRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "TicketflowCore"),
        .target(name: "TicketflowWorkflow", dependencies: [
            "TicketflowCore",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "TicketflowRuntime", dependencies: ["TicketflowCore", "TicketflowWorkflow"]),
        .target(name: "TicketflowStorm", dependencies: ["TicketflowCore", "TicketflowWorkflow", "TicketflowRuntime"]),
        .target(name: "TicketflowTesting", dependencies: ["TicketflowCore", "TicketflowWorkflow", "TicketflowRuntime"]),
        .executableTarget(name: "ticketflow", dependencies: [
            "TicketflowCore", "TicketflowWorkflow", "TicketflowRuntime", "TicketflowStorm",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "TicketflowCoreTests", dependencies: ["TicketflowCore"]),
        .testTarget(name: "TicketflowWorkflowTests", dependencies: ["TicketflowWorkflow", "TicketflowTesting"], exclude: ["Fixtures"]),
        .testTarget(name: "TicketflowRuntimeTests", dependencies: ["TicketflowRuntime", "TicketflowTesting"]),
        .testTarget(name: "TicketflowStormTests", dependencies: ["TicketflowStorm", "TicketflowTesting"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TicketflowTesting"]),
    ],
    swiftLanguageModes: [.v6]
)
