/// An `a=ssrc:<ssrc> <attribute>[:<value>]` line (RFC 5576 §4.1). Of its source attributes only `msid` matters to
/// us: two different ones in one m-line are Plan B.
struct SDPSourceAttribute: Sendable, Hashable {
    var ssrc: UInt32
    /// The value of an `a=ssrc:<ssrc> msid:<stream> [<track>]` line (RFC 8830 §2); nil for other source attributes.
    var mediaStreamID: SDPMediaStreamID?

    init(parsing value: String, line: Int) throws(SDPError) {
        let fields = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard let ssrc = fields.first.flatMap({ UInt32($0) }) else {
            throw .malformed(line: line, "a=ssrc is a=ssrc:<32-bit ssrc> <attribute>[:<value>]")
        }
        self.ssrc = ssrc
        if fields.count == 2, fields[1].hasPrefix("msid:") {
            mediaStreamID = try SDPMediaStreamID(parsing: fields[1].dropFirst(5), line: line)
        } else {
            mediaStreamID = nil
        }
    }
}
