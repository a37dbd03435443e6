/// The attributes of one untagged FETCH response (RFC 3501 section 7.4.2) that `IMAPClient` asks for:
/// `* <seq> FETCH (UID <uid> RFC822.SIZE <size> BODY[] <literal>)`, in any order, with any other attributes
/// (FLAGS, INTERNALDATE, MODSEQ) skipped, however they nest.
struct IMAPFetchData: Hashable, Sendable {
    var sequenceNumber: UInt32
    var uid: UInt32?
    var size: Int?
    /// BODY[] (or RFC822) content; nil when not in this response or NIL.
    var body: [UInt8]?

    /// nil when the response is not a FETCH; throws when it is one but its attribute list does not parse.
    init?(_ response: IMAPResponse) throws(IMAPError) {
        guard let (number, name) = response.numbered, name == "FETCH" else { return nil }
        sequenceNumber = number
        var tokens = IMAPTokenizer(response.text)
        _ = try tokens.next()  // the number
        _ = try tokens.next()  // FETCH
        guard try tokens.next() == .open else { throw .malformedResponse("FETCH without an attribute list") }
        while true {
            guard let token = try tokens.next() else { throw .malformedResponse("FETCH attribute list not closed") }
            if token == .close { break }
            guard case .atom(let attribute) = token else { throw .malformedResponse("FETCH attribute name expected") }
            switch attribute.uppercased() {
            case "UID":
                guard case .atom(let value) = try tokens.next(), let uid = UInt32(value), uid > 0 else {
                    throw .malformedResponse("FETCH UID is not a number")
                }
                self.uid = uid
            case "RFC822.SIZE":
                guard case .atom(let value) = try tokens.next(), let size = Int(value), size >= 0 else {
                    throw .malformedResponse("FETCH RFC822.SIZE is not a number")
                }
                self.size = size
            case "BODY[]", "RFC822", "BINARY[]":
                switch try tokens.next() {
                case .literal(let index) where index < response.literals.count: body = response.literals[index]
                case .quoted(let bytes): body = bytes
                case .atom(let value) where value.uppercased() == "NIL": body = nil
                default: throw .malformedResponse("FETCH \(attribute) is not a string")
                }
            default:
                try tokens.skipValue()
            }
        }
    }
}
