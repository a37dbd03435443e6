/// Tokens of IMAP response text (RFC 3501 section 9, formal syntax), enough to walk FETCH data: atoms (a
/// section such as `BODY[HEADER.FIELDS (FROM)]` is part of its atom), quoted strings, literals by index into
/// the response's literals, and parentheses.
struct IMAPTokenizer {
    enum Token: Hashable {
        case atom(String)
        case quoted([UInt8])
        case literal(Int)
        case open
        case close
    }

    private let text: [UInt8]
    private var position = 0
    private var literalIndex = 0

    init(_ text: [UInt8]) {
        self.text = text
    }

    mutating func next() throws(IMAPError) -> Token? {
        while position < text.count, text[position] == UInt8(ascii: " ") { position += 1 }
        guard position < text.count else { return nil }
        switch text[position] {
        case UInt8(ascii: "("):
            position += 1
            return .open
        case UInt8(ascii: ")"):
            position += 1
            return .close
        case UInt8(ascii: "\""):
            return .quoted(try quoted())
        case UInt8(ascii: "{"):
            guard let close = text[position...].firstIndex(of: UInt8(ascii: "}")) else {
                throw .malformedResponse("unterminated literal marker")
            }
            position = close + 1
            literalIndex += 1
            return .literal(literalIndex - 1)
        default:
            return .atom(atom())
        }
    }

    /// Skips one value: a token, or a whole parenthesised list.
    mutating func skipValue() throws(IMAPError) {
        guard let token = try next() else { throw .malformedResponse("a FETCH attribute without a value") }
        guard token == .open else { return }
        var depth = 1
        while depth > 0 {
            guard let inner = try next() else { throw .malformedResponse("unbalanced parentheses") }
            if inner == .open { depth += 1 } else if inner == .close { depth -= 1 }
        }
    }

    private mutating func quoted() throws(IMAPError) -> [UInt8] {
        var out: [UInt8] = []
        position += 1
        while position < text.count {
            let byte = text[position]
            position += 1
            if byte == UInt8(ascii: "\"") { return out }
            if byte == UInt8(ascii: "\\"), position < text.count {
                out.append(text[position])
                position += 1
            } else {
                out.append(byte)
            }
        }
        throw .malformedResponse("unterminated quoted string")
    }

    /// Up to a space or parenthesis outside brackets, so `BODY[HEADER.FIELDS (FROM)]` stays one atom.
    private mutating func atom() -> String {
        let start = position
        var brackets = 0
        while position < text.count {
            let byte = text[position]
            if byte == UInt8(ascii: "[") { brackets += 1 }
            if byte == UInt8(ascii: "]") { brackets = max(0, brackets - 1) }
            if brackets == 0, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")") { break }
            position += 1
        }
        if position == start { position += 1 }  // a lone byte that starts nothing: step over it
        return String(decoding: text[start..<position], as: UTF8.self)
    }
}
