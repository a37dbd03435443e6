/// One logical server response (RFC 3501 section 7): the text of its line(s) and the literals it carried.
///
/// `text` is everything after "* ", "+ " or the tag, with each literal's data taken out and its `{n}` left in
/// place, so that `IMAPTokenizer` can tell where a literal stood. Literals are kept as bytes: a message body is
/// one, and it may hold 8-bit or binary content that is no string.
public struct IMAPResponse: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// "* ..." (status, capability, EXISTS, FETCH data).
        case untagged
        /// "+ ...": the server waits for the rest of a command (a literal).
        case continuation
        /// "<tag> OK|NO|BAD ...": the end of the command with that tag.
        case tagged(String)
    }

    public var kind: Kind
    public var text: [UInt8]
    public var literals: [[UInt8]]

    public init(kind: Kind, text: [UInt8], literals: [[UInt8]] = []) {
        self.kind = kind
        self.text = text
        self.literals = literals
    }

    /// The first word, upper-cased: OK, NO, BAD, BYE, PREAUTH, CAPABILITY, or a number for "* 3 EXISTS".
    public var status: String {
        let end = text.firstIndex(of: UInt8(ascii: " ")) ?? text.endIndex
        return String(decoding: text[..<end], as: UTF8.self).uppercased()
    }

    /// The text after the status word, for errors and logs (without literal data, so never a message body).
    public var statusText: String {
        guard let space = text.firstIndex(of: UInt8(ascii: " ")) else { return "" }
        return String(decoding: text[(space + 1)...].prefix(300), as: UTF8.self)
    }

    /// The response code of a status response, "[UIDVALIDITY 3857529045]" as ("UIDVALIDITY", "3857529045")
    /// (section 7.1), or nil.
    public var responseCode: (name: String, argument: String)? {
        let rest = Array(statusText.utf8)
        guard rest.first == UInt8(ascii: "["), let close = rest.firstIndex(of: UInt8(ascii: "]")) else { return nil }
        let inside = rest[1..<close]
        let space = inside.firstIndex(of: UInt8(ascii: " ")) ?? inside.endIndex
        let name = String(decoding: inside[..<space], as: UTF8.self).uppercased()
        let argument = space < inside.endIndex ? String(decoding: inside[(space + 1)...], as: UTF8.self) : ""
        return (name, argument)
    }

    /// "* <n> <name>" such as "* 3 EXISTS" or "* 7 FETCH (...)": the number and the upper-cased name.
    public var numbered: (number: UInt32, name: String)? {
        guard kind == .untagged, let number = UInt32(status) else { return nil }
        let words = text.split(separator: UInt8(ascii: " "), maxSplits: 2)
        guard words.count >= 2 else { return nil }
        return (number, String(decoding: words[1], as: UTF8.self).uppercased())
    }
}
