/// An `a=fmtp:<format> <format specific parameters>` line (RFC 8866 §6.15).
struct SDPFormatParameters: Sendable, Hashable {
    /// The payload type it applies to, as written.
    var format: String
    /// Everything after the format ("minptime=10;useinbandfec=1"); empty when none.
    var parameters: String

    init(parsing value: String, line: Int) throws(SDPError) {
        let fields = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard let format = fields.first else {
            throw .malformed(line: line, "a=fmtp is a=fmtp:<format> <parameters>")
        }
        self.format = String(format)
        self.parameters = fields.count == 2 ? String(fields[1]) : ""
    }

    /// The `apt=` of an rtx a=fmtp (RFC 4588 §8.6): the payload type the retransmissions repair.
    static func associatedPayloadType(_ parameters: String?) -> UInt8? {
        guard let parameters else { return nil }
        for parameter in parameters.split(separator: ";") {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0].filter({ $0 != " " }) == "apt" {
                return UInt8(pair[1].filter { $0 != " " })
            }
        }
        return nil
    }
}
