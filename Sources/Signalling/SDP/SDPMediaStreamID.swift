/// An `a=msid:<stream id> [<track id>]` value (RFC 8830 §2).
public struct SDPMediaStreamID: Sendable, Hashable {
    /// "-" when the track belongs to no stream.
    public var streamID: String
    public var trackID: String?

    public init(streamID: String, trackID: String? = nil) {
        self.streamID = streamID
        self.trackID = trackID
    }

    init(parsing value: Substring, line: Int) throws(SDPError) {
        let fields = value.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 1 || fields.count == 2 else {
            throw .malformed(line: line, "msid needs a stream id and at most one track id")
        }
        streamID = String(fields[0])
        trackID = fields.count == 2 ? String(fields[1]) : nil
    }
}
