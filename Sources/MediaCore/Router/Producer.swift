/// One incoming RTP stream of a publisher (one m-line). Its consumers get a copy of every packet.
final class Producer {
    let id: ProducerID
    unowned let transport: WebRTCTransport
    let parameters: ProducerParameters
    /// Media SSRC, learned from the SDP or from the first packet (MID extension or payload type).
    var ssrc: UInt32
    var consumers: ContiguousArray<Consumer> = []

    /// Highest sequence number seen, extended with its wrap count (RFC 3550 A.1), for receiver reports.
    var extendedHighestSequence: UInt32 = 0
    var receivedPackets: UInt64 = 0
    /// When we last asked the publisher for a keyframe: PLIs from all viewers are throttled into one.
    var lastKeyframeRequestMs: Int64 = -1_000_000

    init(id: ProducerID, transport: WebRTCTransport, parameters: ProducerParameters) {
        self.id = id
        self.transport = transport
        self.parameters = parameters
        self.ssrc = parameters.ssrcs.first ?? 0
    }

    @inline(__always)
    func noteSequence(_ sequence: UInt16) {
        if receivedPackets == 0 {
            extendedHighestSequence = UInt32(sequence)
        } else {
            let highest = UInt16(truncatingIfNeeded: extendedHighestSequence)
            let delta = sequence &- highest
            if delta != 0 && delta < 0x8000 {
                var cycles = extendedHighestSequence & 0xFFFF_0000
                if sequence < highest { cycles &+= 0x1_0000 }
                extendedHighestSequence = cycles | UInt32(sequence)
            }
        }
        receivedPackets &+= 1
    }
}
