/// One m-line and the lines up to the next one (RFC 8866 §5.14).
public struct SDPMediaSection: Sendable, Hashable {
    /// "audio", "video", "application", ...
    public var media: String
    public var port: UInt16
    /// The optional `/<number of ports>`.
    public var numberOfPorts: UInt16?
    /// "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ...
    public var transportProtocol: String
    /// Payload types for RTP, or other format tokens ("webrtc-datachannel").
    public var formats: [String]
    /// The m-line itself.
    public var mediaLine: SDPLine
    /// The lines after the m-line, in order.
    public var lines: [SDPLine]
    /// The `a=` lines among `lines`.
    public var attributes: [SDPAttribute]

    public init(mediaLine: SDPLine, lines: [SDPLine]) throws(SDPError) {
        let fields = mediaLine.value.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 4 else {
            throw .malformed(line: mediaLine.number, "an m-line is m=<media> <port> <proto> <fmt> ...")
        }
        let portFields = fields[1].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let port = UInt16(portFields[0]) else {
            throw .malformed(line: mediaLine.number, "m-line port \"\(fields[1])\" is not a number from 0 to 65535")
        }
        if portFields.count == 2 {
            guard let count = UInt16(portFields[1]) else {
                throw .malformed(line: mediaLine.number, "m-line port count \"\(portFields[1])\" is not a number")
            }
            numberOfPorts = count
        } else {
            numberOfPorts = nil
        }
        media = String(fields[0])
        self.port = port
        transportProtocol = String(fields[2])
        formats = fields[3...].map(String.init)
        self.mediaLine = mediaLine
        self.lines = lines
        attributes = lines.filter { $0.type == "a" }.map(SDPAttribute.init)
    }
}
