/// An `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]` line (RFC 8866 §6.6).
struct SDPRTPMap: Sendable, Hashable {
    /// 0–127 (RFC 3551 §6: the payload type is seven bits).
    var payloadType: UInt8
    /// "opus", "VP8", "rtx", ... as written (compare case-insensitively, RFC 4855 §3).
    var name: String
    var clockRate: UInt32
    /// The encoding parameters (audio: the channel count); nil when absent.
    var channels: String?

    init(parsing value: String, line: Int) throws(SDPError) {
        let fields = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        let encoding = fields.count == 2 ? fields[1].split(separator: "/", omittingEmptySubsequences: false) : []
        guard fields.count == 2, let payloadType = UInt8(fields[0]), payloadType <= 127,
              encoding.count == 2 || encoding.count == 3, !encoding[0].isEmpty,
              let clockRate = UInt32(encoding[1]) else {
            throw .malformed(line: line, "a=rtpmap is a=rtpmap:<payload type 0-127> <name>/<clock rate>[/<channels>]")
        }
        self.payloadType = payloadType
        self.name = String(encoding[0])
        self.clockRate = clockRate
        self.channels = encoding.count == 3 ? String(encoding[2]) : nil
    }

    /// Whether this is `name`/`clockRate` (names compare case-insensitively).
    func isCodec(_ name: String, clockRate: UInt32) -> Bool {
        self.name.lowercased() == name.lowercased() && self.clockRate == clockRate
    }
}
