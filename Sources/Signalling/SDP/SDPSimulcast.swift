/// An `a=simulcast:send <alternatives>;... [recv <alternatives>;...]` line (RFC 8853 §5.1).
/// Negotiated for publishing video m-lines in `SDPSimulcast.layers(rids:payloadType:line:)`.
public struct SDPSimulcast: Sendable, Hashable {
    /// One rid in a simulcast list; `paused` when written with a leading "~".
    public struct Stream: Sendable, Hashable {
        public var rid: String
        public var paused: Bool
        public init(rid: String, paused: Bool = false) {
            self.rid = rid
            self.paused = paused
        }
    }

    /// Simulcast streams the offerer sends; each entry lists alternative rids for one stream.
    public var send: [[Stream]]
    /// Simulcast streams the offerer receives.
    public var recv: [[Stream]]

    public init(send: [[Stream]] = [], recv: [[Stream]] = []) {
        self.send = send
        self.recv = recv
    }

    init(parsing value: String, line: Int) throws(SDPError) {
        let fields = value.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 2 || fields.count == 4 else {
            throw .malformed(line: line, "a=simulcast needs \"send <rids>\" and/or \"recv <rids>\"")
        }
        send = []
        recv = []
        var seen: Set<Substring> = []
        for index in stride(from: 0, to: fields.count, by: 2) {
            let direction = fields[index]
            guard direction == "send" || direction == "recv", seen.insert(direction).inserted else {
                throw .malformed(line: line, "a=simulcast direction \"\(direction)\" is not send or recv, or is repeated")
            }
            var streams: [[Stream]] = []
            for alternatives in fields[index + 1].split(separator: ";", omittingEmptySubsequences: false) {
                var stream: [Stream] = []
                for id in alternatives.split(separator: ",", omittingEmptySubsequences: false) {
                    let paused = id.hasPrefix("~")
                    let rid = paused ? id.dropFirst() : id
                    guard SDPRID.isRIDIdentifier(rid) else {
                        throw .malformed(line: line, "a=simulcast rid \"\(id)\" is not a valid rid")
                    }
                    stream.append(Stream(rid: String(rid), paused: paused))
                }
                streams.append(stream)
            }
            if direction == "send" { send = streams } else { recv = streams }
        }
    }
}
