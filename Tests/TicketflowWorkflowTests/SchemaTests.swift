import Foundation
import Testing
import TicketflowCore
@testable import TicketflowWorkflow

/// Keeps docs/workflow.schema.json in step with what the checker accepts.
@Suite struct SchemaTests {
    static let schemaPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/workflow.schema.json").path

    func schema() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.schemaPath))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func keys(_ object: Any?, _ path: [String]) -> Set<String> {
        var node = object
        for p in path { node = (node as? [String: Any])?[p] }
        return Set((node as? [String: Any])?.keys.map { $0 } ?? [])
    }

    func enumValues(_ object: Any?, _ path: [String]) -> Set<String> {
        var node = object
        for p in path { node = (node as? [String: Any])?[p] }
        return Set(((node as? [String: Any])?["enum"] as? [String]) ?? [])
    }

    @Test func topLevelSectionsMatch() throws {
        #expect(keys(try schema(), ["properties"]) == Set(Compiler.topLevelKeys))
    }

    @Test func actionsMatch() throws {
        #expect(keys(try schema(), ["$defs", "action", "properties"]) == Set(Compiler.actionKeys))
    }

    @Test func enumerationsMatch() throws {
        let s = try schema()
        #expect(enumValues(s, ["$defs", "event"]) == Set(TriggerEvent.allCases.map(\.rawValue)))
        #expect(enumValues(s, ["$defs", "routing"]) == Set(RoutingPolicy.allCases.map(\.rawValue)))
        let slaItems = ((s["properties"] as? [String: Any])?["sla"] as? [String: Any])?["items"]
        #expect(keys(slaItems, ["properties", "targets", "properties"]) == Set(SLAMetric.allCases.map(\.rawValue)))
        let conditionForms = (((s["$defs"] as? [String: Any])?["condition"] as? [String: Any])?["oneOf"] as? [Any])?[1]
        let fieldTest = ((conditionForms as? [String: Any])?["additionalProperties"] as? [String: Any])?["oneOf"] as? [Any]
        let operators = ((fieldTest?[2] as? [String: Any])?["propertyNames"] as? [String: Any])?["enum"] as? [String]
        #expect(Set(operators ?? []) == Set(FieldOperator.allCases.map(\.rawValue) + ["lt", "gt"]))
    }

    @Test func policyKeysMatch() throws {
        let s = try schema()
        let slaItems = ((s["properties"] as? [String: Any])?["sla"] as? [String: Any])?["items"]
        #expect(keys(slaItems, ["properties"]) == ["name", "group", "when", "calendar", "pause_when", "warn_at", "targets", "on_warning", "on_breach", "escalations"])
    }
}
