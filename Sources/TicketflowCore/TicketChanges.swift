/// What an update command changes: each field that is set, custom fields by name. A typed
/// value at the edge (the API, workflow tests); the engine applies it field by field, in
/// `entries` order, exactly as a workflow's `set` action does.
public struct TicketChanges: Hashable, Codable, Sendable {
    public var subject: String?
    public var description: String?
    /// Checked by the engine: one of low, normal, high, urgent.
    public var priority: String?
    public var type: String?
    /// Checked by the engine against the workflow's statuses and transitions.
    public var status: String?
    public var fields: [String: String]
    /// Tags to add and to remove (after the fields are set; a tag in both ends up removed).
    public var addTags: [String]
    public var removeTags: [String]

    public init(subject: String? = nil, description: String? = nil, priority: String? = nil, type: String? = nil,
                status: String? = nil, fields: [String: String] = [:], addTags: [String] = [], removeTags: [String] = []) {
        self.subject = subject; self.description = description; self.priority = priority
        self.type = type; self.status = status; self.fields = fields; self.addTags = addTags; self.removeTags = removeTags
    }

    public var isEmpty: Bool {
        subject == nil && description == nil && priority == nil && type == nil && status == nil && fields.isEmpty
            && addTags.isEmpty && removeTags.isEmpty
    }

    /// The changes as (field, value), sorted by field name, custom fields as `fields.NAME` —
    /// the order the engine validates and applies them in.
    public var entries: [(field: String, value: String)] {
        var out: [(field: String, value: String)] = []
        if let subject { out.append(("subject", subject)) }
        if let description { out.append(("description", description)) }
        if let priority { out.append(("priority", priority)) }
        if let type { out.append(("type", type)) }
        if let status { out.append(("status", status)) }
        for (name, value) in fields { out.append(("fields." + name, value)) }
        return out.sorted { $0.field < $1.field }
    }

    /// Reads changes written as `field: value` (workflow tests): `fields.NAME` for custom
    /// fields; any other name is refused.
    public init(named: [String: String]) throws(Rejection) {
        self.init()
        for (field, value) in named {
            switch field {
            case "subject": subject = value
            case "description": description = value
            case "priority": priority = value
            case "type": type = value
            case "status": status = value
            default:
                guard field.hasPrefix("fields."), field.count > 7 else {
                    throw Rejection(.unknownField, "field '\(field)' cannot be set; expected one of status, priority, subject, description, type, fields.<name>")
                }
                fields[String(field.dropFirst(7))] = value
            }
        }
    }
}
