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
