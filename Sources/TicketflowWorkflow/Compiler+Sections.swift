import Foundation
import TicketflowCore

extension Compiler {
    static let topLevelKeys = [
        "apiVersion", "kind", "workflow", "version", "description", "include", "settings", "statuses",
        "initial_status", "solved_statuses", "transitions", "lines", "queues", "calendars", "templates",
        "sla", "triggers", "automations", "macros", "delivery", "portal",
    ]

    /// Compiles the merged root mapping. Returns nil when any error was found.
    mutating func compile(_ root: Syntax) -> Workflow? {
        guard let top = entries(root, allowed: Compiler.topLevelKeys, context: "the workflow") else { return nil }
        if let api = top["apiVersion"], let v = string(api.value, context: "apiVersion"), v != "ticketflow/v1" {
            error(api.value.position, "unsupported apiVersion '\(v)'; expected ticketflow/v1", rule: "header")
        }
        if let kind = top["kind"], let v = string(kind.value, context: "kind"), v != "Workflow" {
            error(kind.value.position, "kind must be Workflow, found '\(v)'", rule: "header")
        }
        let name = top["workflow"].flatMap { string($0.value, context: "workflow") }
        if top["workflow"] == nil { error(root.position, "the workflow needs a name: add 'workflow: <name>'", rule: "missing-key") }
        let version = top["version"].flatMap { string($0.value, context: "version") } ?? "1"

        var loopCap = 20
        if let settings = top["settings"], let s = entries(settings.value, allowed: ["trigger_loop_cap"], context: "settings") {
            if let cap = s["trigger_loop_cap"] { loopCap = positiveInt(cap.value, context: "trigger_loop_cap") ?? loopCap }
        }

        var webhook: String?
        if let delivery = top["delivery"], let d = entries(delivery.value, allowed: ["webhook", "sink"], context: "delivery") {
            if let w = d["webhook"], let url = string(w.value, context: "webhook") {
                if url.hasPrefix("http://") || url.hasPrefix("https://"), let host = WebhookHost.of(url) {
                    if InternalAddress.isInternal(host: host) && !allowedWebhookHosts.contains(WebhookHost.normalized(host)) {
                        error(w.value.position, "webhook \(url) points inside the network (\(host): loopback, private, link-local, multicast or unspecified); "
                              + "refused unless the node admits it (ticketflow serve --allow-webhook-host \(WebhookHost.normalized(host)))", rule: "webhook-internal")
                    } else {
                        webhook = url
                    }
                } else {
                    error(w.value.position, "webhook must be an http:// or https:// URL, found '\(url)'", rule: "delivery")
                }
            }
            if let sink = d["sink"], let v = string(sink.value, context: "sink"), v != "log" {
                error(sink.value.position, "unknown sink '\(v)'; expected log (or give a webhook)", rule: "delivery")
            }
        }

        compileStatuses(top, root: root)
        let initial = top["initial_status"].flatMap { entry in statusName(entry.value, context: "initial_status") }
        var solved: Set<String>? = nil
        if let entry = top["solved_statuses"], let names = strings(entry.value, context: "solved_statuses") {
            solved = Set(names.filter { checkStatus($0, at: entry.value.position) })
        }
        let transitions = top["transitions"].flatMap { compileTransitions($0.value) }
        let (lines, queues) = compileLinesAndQueues(top, root: root)
        let calendars = top["calendars"].map { compileCalendars($0.value) } ?? [:]
        let templates = top["templates"].map { compileTemplates($0.value) } ?? [:]
        // Macro names first: rules may apply macros declared further down.
        if let macros = top["macros"], case .list(let items, _) = macros.value {
            for case .map(let e, _) in items { if let n = e.first(where: { $0.key == "name" })?.value.scalar { macroNames.insert(n) } }
        }
        let sla = top["sla"].map { compileSLA($0.value) } ?? []
        let triggers = top["triggers"].map { compileTriggers($0.value) } ?? []
        let automations = top["automations"].map { compileAutomations($0.value) } ?? []
        let macros = top["macros"].map { compileMacros($0.value) } ?? [:]

        let portal = top["portal"].map { compilePortal($0.value) } ?? PortalSettings()

        // A macro cycle is found even beside other errors: it needs nothing but the macros.
        checkMacroCycles(macros, at: top["macros"]?.value.position)
        guard !diagnostics.contains(where: { $0.severity == .error }), let name else { return nil }
        var workflow = Workflow(name: name, version: version, statuses: statuses, initialStatus: initial,
                                solvedStatuses: solved, transitions: transitions, lines: lines, queues: queues,
                                calendars: calendars, slaPolicies: sla, triggers: triggers, automations: automations,
                                macros: macros, templates: templates, triggerLoopCap: loopCap, webhook: webhook)
        workflow.portal = portal
        checkSemantics(workflow, top: top)
        return diagnostics.contains(where: { $0.severity == .error }) ? nil : workflow
    }

    mutating func compileStatuses(_ top: [String: Syntax.Entry], root: Syntax) {
        guard let entry = top["statuses"] else {
            statuses = ["new", "open", "pending", "on_hold", "solved", "closed"]
            return
        }
        // The statuses that are values still count (each bad item is reported), so later
        // sections are checked against them rather than against none.
        guard let names = strings(entry.value, context: "statuses") ?? {
            if case .list(let items, _) = entry.value { return items.compactMap(\.scalar) } else { return nil }
        }() else { return }
        var seen: Set<String> = []
        for n in names { unique(n, &seen, at: entry.value.position, what: "status") }
        if names.isEmpty { error(entry.value.position, "statuses must name at least one status", rule: "statuses") }
        statuses = names
    }

    @discardableResult
    mutating func checkStatus(_ name: String, at: SourcePosition) -> Bool {
        guard statuses.contains(name) else {
            error(at, "unknown status '\(name)'; expected one of \(statuses.joined(separator: ", "))", rule: "unknown-status")
            return false
        }
        return true
    }

    mutating func statusName(_ node: Syntax, context: String) -> String? {
        guard let s = string(node, context: context), checkStatus(s, at: node.position) else { return nil }
        return s
    }

    /// The entries of a mapping, or nil after reporting `message` where the node is not one.
    mutating func entries(_ node: Syntax, _ message: String) -> [Syntax.Entry]? {
        guard case .map(let items, _) = node else {
            error(node.position, message, rule: "type")
            return nil
        }
        return items
    }

    mutating func compileTransitions(_ node: Syntax) -> [String: Set<String>]? {
        guard let items = entries(node, "transitions must be a mapping of status → list of next statuses") else { return nil }
        var result: [String: Set<String>] = [:]
        for item in items {
            let sources = item.key == "*" ? statuses : [item.key]
            if item.key != "*" { checkStatus(item.key, at: item.keyPosition) }
            guard let targets = strings(item.value, context: "transitions from \(item.key)") else { continue }
            for t in targets { checkStatus(t, at: item.value.position) }
            for s in sources { result[s, default: []].formUnion(targets) }
        }
        return result
    }

    mutating func compileLinesAndQueues(_ top: [String: Syntax.Entry], root: Syntax) -> ([Line], [String: QueueDefinition]) {
        var queues: [String: QueueDefinition] = [:]
        var lines: [Line] = []
        if let entry = top["queues"], let items = list(entry.value, context: "queues") {
            for item in items {
                guard let e = entries(item, allowed: ["name", "routing"], context: "a queue"),
                      let name = require(e, "name", in: item, context: "a queue").flatMap({ string($0, context: "queue name") }) else { continue }
                if queues[name] != nil { error(item.position, "duplicate queue name '\(name)'", rule: "duplicate-name") }
                queues[name] = QueueDefinition(name: name, routing: e["routing"].flatMap { routing($0.value) } ?? .leastLoaded)
            }
        }
        guard let entry = top["lines"] else {
            error(root.position, "the workflow needs 'lines': at least one escalation line with its queue", rule: "missing-key")
            return ([], queues)
        }
        guard let items = list(entry.value, context: "lines") else { return ([], queues) }
        var seen: Set<String> = []
        for item in items {
            guard let e = entries(item, allowed: ["name", "queue", "routing"], context: "a line"),
                  let name = require(e, "name", in: item, context: "a line").flatMap({ string($0, context: "line name") }),
                  let queue = require(e, "queue", in: item, context: "line \(name)").flatMap({ string($0, context: "queue") }) else { continue }
            unique(name, &seen, at: item.position, what: "line")
            if let r = e["routing"] {
                if queues[queue] != nil { error(r.keyPosition, "queue '\(queue)' already has its routing in 'queues'", rule: "duplicate-name") }
                queues[queue] = QueueDefinition(name: queue, routing: routing(r.value) ?? .leastLoaded)
            }
            queues[queue] = queues[queue] ?? QueueDefinition(name: queue, routing: .leastLoaded)
            lines.append(Line(name: name, queue: queue))
        }
        if lines.isEmpty { error(entry.value.position, "lines must list at least one line", rule: "lines") }
        lineNames = lines.map(\.name)
        queueNames = Set(queues.keys)
        return (lines, queues)
    }

    mutating func routing(_ node: Syntax) -> RoutingPolicy? {
        guard let text = string(node, context: "routing") else { return nil }
        guard let r = RoutingPolicy(rawValue: text) else {
            error(node.position, "unknown routing '\(text)'; expected one of \(RoutingPolicy.allCases.map(\.rawValue).joined(separator: ", "))", rule: "routing")
            return nil
        }
        return r
    }

    static let weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    mutating func compileCalendars(_ node: Syntax) -> [String: BusinessCalendar] {
        guard let items = entries(node, "calendars must be a mapping of name → calendar") else { return [:] }
        var result: [String: BusinessCalendar] = [:]
        for item in items {
            if item.key == BusinessCalendar.alwaysOpen.name || result[item.key] != nil {
                error(item.keyPosition, "duplicate calendar name '\(item.key)' (24x7 is built in)", rule: "duplicate-name")
                continue
            }
            guard let e = entries(item.value, allowed: ["timezone", "hours", "holidays"], context: "calendar \(item.key)") else { continue }
            var zone = TimeZone(identifier: "UTC")!
            if let tz = e["timezone"], let id = string(tz.value, context: "timezone") {
                if let z = TimeZone(identifier: id) { zone = z } else {
                    error(tz.value.position, "unknown time zone '\(id)'; use an IANA name such as Europe/Berlin or America/New_York", rule: "timezone")
                }
            } else if e["timezone"] == nil {
                error(item.value.position, "calendar \(item.key) needs 'timezone' (an IANA name such as Europe/Berlin)", rule: "missing-key")
            }
            var weekly: [Int: [MinuteRange]] = [:]
            if let hours = e["hours"] {
                if case .map(let days, _) = hours.value {
                    for day in days {
                        guard let dayNumbers = weekdayNumbers(day.key, at: day.keyPosition),
                              let text = string(day.value, context: "hours of \(day.key)"),
                              let ranges = minuteRanges(text, at: day.value.position) else { continue }
                        for d in dayNumbers {
                            if weekly[d] != nil { error(day.keyPosition, "hours for \(Compiler.weekdays[d - 1]) are given twice", rule: "calendar") }
                            weekly[d] = ranges
                        }
                    }
                } else {
                    error(hours.value.position, "hours must be a mapping such as {mon-fri: \"09:00-18:00\"}", rule: "type")
                }
            } else {
                error(item.value.position, "calendar \(item.key) needs 'hours', e.g. {mon-fri: \"09:00-18:00\"}", rule: "missing-key")
            }
            if e["hours"] != nil, weekly.values.allSatisfy(\.isEmpty) {
                error(item.value.position, "calendar \(item.key) is never open", rule: "calendar")
            }
            var holidays: Set<LocalDate> = []
            if let h = e["holidays"], let dates = strings(h.value, context: "holidays") {
                for text in dates {
                    if let d = LocalDate(parsing: text) { holidays.insert(d) } else {
                        error(h.value.position, "holiday '\(text)' is not a date; write YYYY-MM-DD", rule: "calendar")
                    }
                }
            }
            result[item.key] = BusinessCalendar(name: item.key, timeZone: zone, weeklyHours: weekly, holidays: holidays)
        }
        calendarNames.formUnion(result.keys)
        return result
    }

    /// `mon`, `mon-fri`, `daily` → ISO weekday numbers.
    mutating func weekdayNumbers(_ key: String, at: SourcePosition) -> [Int]? {
        if key == "daily" { return Array(1...7) }
        let parts = key.split(separator: "-").map(String.init)
        let numbers = parts.compactMap { Compiler.weekdays.firstIndex(of: $0).map { $0 + 1 } }
        guard numbers.count == parts.count, (1...2).contains(parts.count) else {
            error(at, "unknown day '\(key)'; expected mon…sun, a range such as mon-fri, or daily", rule: "calendar")
            return nil
        }
        if numbers.count == 1 { return numbers }
        guard numbers[0] <= numbers[1] else {
            error(at, "day range '\(key)' runs backwards", rule: "calendar")
            return nil
        }
        return Array(numbers[0]...numbers[1])
    }

    /// `09:00-12:00, 13:00-18:00` → minute ranges, checked for order and overlap.
    mutating func minuteRanges(_ text: String, at: SourcePosition) -> [MinuteRange]? {
        var ranges: [MinuteRange] = []
        for part in text.split(separator: ",") {
            let bounds = part.trimmingCharacters(in: .whitespaces).split(separator: "-")
            guard bounds.count == 2, let start = minutes(String(bounds[0])), let end = minutes(String(bounds[1])), start < end else {
                error(at, "hours '\(part.trimmingCharacters(in: .whitespaces))' must look like 09:00-18:00 (end after start, at most 24:00)", rule: "calendar")
                return nil
            }
            if let last = ranges.last, last.end > start {
                error(at, "hours '\(text)' overlap or are out of order", rule: "calendar")
                return nil
            }
            ranges.append(MinuteRange(start: start, end: end))
        }
        return ranges
    }

    func minutes(_ text: String) -> Int? {
        let p = text.split(separator: ":")
        guard p.count == 2, p[1].count == 2, let h = Int(p[0]), let m = Int(p[1]), (0...24).contains(h), (0..<60).contains(m),
              h * 60 + m <= 1440 else { return nil }
        return h * 60 + m
    }

    mutating func compileTemplates(_ node: Syntax) -> [String: Template] {
        guard let items = entries(node, "templates must be a mapping of name → text") else { return [:] }
        var result: [String: Template] = [:]
        for item in items {
            if result[item.key] != nil { error(item.keyPosition, "duplicate template name '\(item.key)'", rule: "duplicate-name") }
            guard let text = string(item.value, context: "template \(item.key)") else { continue }
            result[item.key] = checkTemplate(text, at: item.value.position)
        }
        templateNames = Set(result.keys)
        templates = result
        return result
    }

    /// `portal: {public_fields: [name, …], priorities: [low, …]}`.
    mutating func compilePortal(_ node: Syntax) -> PortalSettings {
        var settings = PortalSettings()
        guard let e = entries(node, allowed: ["public_fields", "priorities"], context: "portal") else { return settings }
        if let f = e["public_fields"] {
            guard case .list(let items, _) = f.value else {
                error(f.value.position, "public_fields must be a list of custom field names", rule: "type")
                return settings
            }
            for item in items {
                guard let name = string(item, context: "a public field") else { continue }
                guard !name.isEmpty, name.count <= 100, !name.contains("."), !name.contains(",") else {
                    error(item.position, "'\(name)' is not a custom field name", rule: "portal")
                    continue
                }
                if name == "satisfaction" || name == "satisfaction_comment" {
                    error(item.position, "'\(name)' is the portal's own rating field", rule: "portal")
                    continue
                }
                settings.publicFields.append(name)
            }
        }
        if let p = e["priorities"] {
            guard case .list(let items, _) = p.value, !items.isEmpty else {
                error(p.value.position, "priorities must be a non-empty list of low, normal, high, urgent", rule: "type")
                return settings
            }
            settings.priorities = []
            for item in items {
                guard let text = string(item, context: "a priority") else { continue }
                guard let priority = Priority(rawValue: text) else {
                    error(item.position, "unknown priority '\(text)'; expected low, normal, high or urgent", rule: "portal")
                    continue
                }
                settings.priorities.append(priority)
            }
        }
        return settings
    }
}
