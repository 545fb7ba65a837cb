import TicketflowCore

/// The commands people and integrations gave, read back from a ticket's journal: creates,
/// comments, status and field changes, line changes, assignments and macros — what the engine
/// was asked, not what it decided. Events a rule, a clock, a macro or routing caused are left
/// out; the what-if replay lets the candidate workflow decide those anew.
public enum RecordedCommands {
    public struct Recorded: Sendable {
        public var at: Instant
        public var command: Command
    }

    /// The ticket's commands in journal order. `lines` names the recorded workflow's lines (a
    /// line change is replayed to the line of the same name).
    public static func read(_ events: [Event], lines: [String]) -> [Recorded] {
        var out: [Recorded] = []
        var previous: Event?
        for event in events {
            defer { previous = event }
            let cause = event.cause
            guard [.agent, .requester, .api].contains(cause.kind) else { continue }
            let id = event.ticket
            func add(_ command: Command) { out.append(Recorded(at: event.at, command: command)) }
            switch event.change {
            case .created(let t):
                add(.create(NewTicket(id: t.id, subject: t.subject, description: t.description, requester: t.requester, channel: t.channel,
                                      priority: t.priority, type: t.type, tags: t.tags, fields: t.fields, requiredSkills: t.requiredSkills)))
            case .commented(let c):
                add(.comment(ticket: id, author: c.author, authorName: c.authorName, isPublic: c.isPublic, body: c.body))
            case let .statusChanged(_, to):
                add(.setStatus(ticket: id, status: to, by: cause))
            case let .fieldChanged("tags", from, to):
                let before = Set((from ?? "").split(separator: ",").map(String.init)), after = Set((to ?? "").split(separator: ",").map(String.init))
                add(.update(ticket: id, changes: TicketChanges(addTags: after.subtracting(before).sorted(), removeTags: before.subtracting(after).sorted()), by: cause))
            case let .fieldChanged(field, _, to):
                if let changes = try? TicketChanges(named: [field: to ?? ""]) {   // a field no update can name was not an update
                    add(.update(ticket: id, changes: changes, by: cause))
                }
            case let .lineChanged(from, to, _):
                let name = lines.indices.contains(to) ? lines[to] : nil
                add(to > from ? .escalate(ticket: id, to: name, by: cause) : .deescalate(ticket: id, to: name, by: cause))
            case .assigned(let agent):
                // An unassignment the engine made as part of a line or queue change is not a command.
                if agent == nil, let previous, previous.cause == cause, previous.at == event.at {
                    if case .lineChanged = previous.change { continue }
                    if case .queued = previous.change { continue }
                }
                add(.assign(ticket: id, agent: agent, by: cause))
            case .note(let text):
                if let name = macroName(text) { add(.applyMacro(ticket: id, macro: name, by: cause)) }
            default:
                continue
            }
        }
        return out
    }

    /// The macro named by the note a macro's application leaves ("macro 'NAME' applied by …").
    static func macroName(_ note: String) -> String? {
        guard note.hasPrefix("macro '"), let end = note.range(of: "' applied by ") else { return nil }
        return String(note[note.index(note.startIndex, offsetBy: 7)..<end.lowerBound])
    }
}
