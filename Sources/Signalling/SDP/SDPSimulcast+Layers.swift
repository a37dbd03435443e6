import MediaCore

extension SDPSimulcast {
    /// At most this many simulcast encodings are taken from an offer; further streams are not answered.
    static let maximumLayers = 3

    /// The rids we answer (offer order) and the encodings they become (lowest spatial layer first), for a publishing
    /// video m-line whose chosen codec is `payloadType`.
    ///
    /// Each `a=simulcast:send` stream takes its first alternative that is not paused ("~"), has an
    /// `a=rid:<id> send` line and allows our payload type; streams with none are not answered, and
    /// only the first `maximumLayers` streams are. Order of the encodings:
    /// 1. every rid is one of q, h, f (what browsers and our client use) → q, h, f;
    /// 2. otherwise, every rid restricts max-height or max-width → ascending by that size;
    /// 3. otherwise the a=simulcast order, taken as lowest first: browsers list rids in the order the
    ///    sender gave its sendEncodings, and WebRTC applications give them lowest first.
    func layers(rids: [SDPRID], payloadType: UInt8, line: Int) throws(SDPError) -> (rids: [String], encodings: [ProducerEncoding]) {
        var sending: [String: SDPRID] = [:]
        for rid in rids where rid.direction == .send {
            guard sending.updateValue(rid, forKey: rid.id) == nil else {
                throw SDPError(.invalidSimulcast, line: line, "a=rid:\(rid.id) send appears twice in the m-line")
            }
        }
        var seen: Set<String> = []
        for stream in send {
            for alternative in stream {
                guard sending[alternative.rid] != nil else {
                    throw SDPError(.invalidSimulcast, line: line, "a=simulcast names rid \"\(alternative.rid)\" but the m-line has no a=rid:\(alternative.rid) send (RFC 8853 §5.1)")
                }
                guard seen.insert(alternative.rid).inserted else {
                    throw SDPError(.invalidSimulcast, line: line, "a=simulcast names rid \"\(alternative.rid)\" twice")
                }
            }
        }
        var chosen: [SDPRID] = []
        for stream in send where chosen.count < Self.maximumLayers {
            let usable = stream.first { alternative in
                guard !alternative.paused, let rid = sending[alternative.rid] else { return false }
                return rid.payloadTypes.isEmpty || rid.payloadTypes.contains(String(payloadType))
            }
            if let usable, let rid = sending[usable.rid] { chosen.append(rid) }
        }
        return (chosen.map(\.id), Self.lowestFirst(chosen).map { ProducerEncoding(rid: $0.id) })
    }

    /// The order of the encodings, as `layers` explains.
    private static func lowestFirst(_ chosen: [SDPRID]) -> [SDPRID] {
        let ladder = ["q", "h", "f"]
        if chosen.allSatisfy({ ladder.contains($0.id) }) {
            return chosen.sorted { ladder.firstIndex(of: $0.id)! < ladder.firstIndex(of: $1.id)! }
        }
        if chosen.allSatisfy({ size(of: $0) != nil }) {
            return chosen.enumerated().sorted { (size(of: $0.element)!, $0.offset) < (size(of: $1.element)!, $1.offset) }.map(\.element)
        }
        return chosen
    }

    /// max-height, else max-width, of an a=rid line (RFC 8851 §5).
    private static func size(of rid: SDPRID) -> Int? {
        rid.restrictions["max-height"].flatMap { Int($0) } ?? rid.restrictions["max-width"].flatMap { Int($0) }
    }
}
