/// An `a=rtcp-fb:<payload type or *> <type> [<parameter>]` line (RFC 4585 §4.2).
struct SDPFeedback: Sendable, Hashable {
    /// A payload type as written, or "*" for every one.
    var format: String
    /// Type and parameters joined by one space: "nack", "nack pli", "ccm fir", "transport-cc".
    var value: String

    init(parsing value: String, line: Int) throws(SDPError) {
        let fields = value.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 2 else {
            throw .malformed(line: line, "a=rtcp-fb is a=rtcp-fb:<payload type or *> <type> [<parameter>]")
        }
        self.format = String(fields[0])
        self.value = fields[1...].joined(separator: " ")
    }

    /// Whether the line applies to `payloadType`.
    func applies(to payloadType: UInt8) -> Bool {
        format == "*" || UInt8(format) == payloadType
    }
}
