import Foundation
import Testing
import TicketflowCore
import TicketflowWorkflow
@testable import TicketflowStorm

@Suite struct SimulatorTests {
    static let workflowPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("workflows/b2c-support.yaml").path

    func simulate(seed: UInt64) throws -> SimulationReport {
        let workflow = try #require(WorkflowLoader.load(path: Self.workflowPath).workflow)
        return Simulator(workflow: workflow, options: .init(days: 3, ticketsPerDay: 300, agents: 12, seed: seed)).run()
    }

    @Test func sameSeedSameReportByteForByte() throws {
        let a = try simulate(seed: 42), b = try simulate(seed: 42)
        #expect(a.json() == b.json())
        let c = try simulate(seed: 43)
        #expect(a.json() != c.json())
    }

    @Test func reportIsConsistent() throws {
        let r = try simulate(seed: 7)
        // ~900 tickets expected from the arrival rate; Poisson noise stays well within ±25%.
        #expect(r.ticketsCreated > 675 && r.ticketsCreated < 1125, "\(r.ticketsCreated)")
        #expect(r.ticketsSolved > 0 && r.ticketsSolved <= r.ticketsCreated)
        #expect(r.backlogByLine.values.reduce(0, +) == r.ticketsCreated - r.ticketsSolved)
        #expect(r.firstReply.count > 0 && r.firstReply.medianMinutes <= r.firstReply.p90Minutes)
        for (key, c) in r.slaCompliance { #expect(c.percentMet >= 0 && c.percentMet <= 100, "\(key)") }
    }
}
