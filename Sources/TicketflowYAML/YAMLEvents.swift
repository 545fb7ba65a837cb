import CYaml

/// libyaml's event stream over a buffer, with nothing built: how the budget and the key
/// check read a document before a parser that builds a tree is trusted with it.
enum YAMLEvents {
    /// Calls `body` with each event until it returns false, the stream ends, or the text has
    /// a syntax error (left for the building parser to report, in its own words).
    static func forEach(in buffer: UnsafeBufferPointer<UInt8>, _ body: (borrowing yaml_event_t) -> Bool) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
        var event = yaml_event_t()
        while yaml_parser_parse(&parser, &event) == 1 {
            defer { yaml_event_delete(&event) }
            guard event.type != YAML_STREAM_END_EVENT, body(event) else { return }
        }
    }

    /// A NUL-terminated libyaml string (an anchor, a scalar's value).
    static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }
}

/// A key given twice in one mapping, where its second occurrence stands (1-based).
public struct YAMLDuplicateKey: Sendable, Equatable {
    public var key: String
    public var line: Int
    public var column: Int

    /// Every plain-text key repeated within its mapping, in document order. (Yams refuses a
    /// document at its first such mapping; this names all of them at once.)
    public static func find(in text: String) -> [YAMLDuplicateKey] {
        var found: [YAMLDuplicateKey] = []
        // One frame per open collection: for a mapping, its keys so far and whether the next
        // child is a key.
        var frames: [(isMapping: Bool, expectingKey: Bool, keys: Set<String>)] = []
        func childDone() {
            guard !frames.isEmpty, frames[frames.count - 1].isMapping else { return }
            frames[frames.count - 1].expectingKey.toggle()
        }
        Array(text.utf8).withUnsafeBufferPointer { buffer in
            YAMLEvents.forEach(in: buffer) { event in
                switch event.type {
                case YAML_SCALAR_EVENT:
                    if let top = frames.last, top.isMapping, top.expectingKey,
                       let key = YAMLEvents.string(event.data.scalar.value) {
                        if frames[frames.count - 1].keys.insert(key).inserted == false {
                            found.append(YAMLDuplicateKey(key: key, line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1))
                        }
                    }
                    childDone()
                case YAML_ALIAS_EVENT:
                    childDone()
                case YAML_SEQUENCE_START_EVENT:
                    frames.append((false, false, []))
                case YAML_MAPPING_START_EVENT:
                    frames.append((true, true, []))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    frames.removeLast()
                    childDone()
                default:
                    break
                }
                return true
            }
        }
        return found
    }
}
