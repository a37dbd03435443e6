/// Answering the viewer's NACKs (RFC 4585 section 6.2.1) from our own buffers, as mediasoup's consumers do: the
/// packet is found through what this consumer sent under that sequence number (`SentPacketLog`) in its producer
/// layer's `RetransmissionBuffer`, and written again exactly as the viewer first saw it, as RTX (RFC 4588) when
/// negotiated. NACKs never reach the publisher.
extension Consumer {
    /// A packet is resent to a viewer at most once per this interval, however many NACKs name it.
    static let retransmitIntervalMs: Int64 = 40

    /// Resends what this consumer sent as `sequence`, within the transport's retransmission budget. True when a
    /// packet went out.
    @discardableResult
    func resend<IO: DatagramIO>(_ sequence: UInt16, nowMs: Int64, via sender: PacketSender<IO>) -> Bool {
        guard let log = sent, let entry = log.entry(sequence),
              nowMs - entry.pointee.resentMs >= Self.retransmitIntervalMs, transport.retransmitBudget > 0,
              PacketSender<IO>.canSend(on: transport) else { return false }
        let layers = producer.layers
        guard Int(entry.pointee.layer) < layers.count,
              let original = layers[Int(entry.pointee.layer)].retransmissions?.packet(sequence: entry.pointee.sourceSequence, nowMs: nowMs),
              let header = RTPHeader.parse(original) else { return false }
        var packet = IncomingPacket(header: header)
        packet.spatialLayer = Int(entry.pointee.layer)
        guard packet.readVP8(original) else { return false }
        entry.pointee.resentMs = nowMs
        let numbers = OutgoingNumbers(sequence: sequence, timestamp: entry.pointee.timestamp,
                                      pictureID: entry.pointee.pictureID, tl0PicIdx: entry.pointee.tl0PicIdx)
        let rtx = parameters.rtxSSRC != 0 && parameters.rtxPayloadType != 0
        let length = sender.sendRTP(on: transport) { out, transportSequence in
            let written = write(packet, original, numbers, transportSequence: transportSequence, rtx: rtx, into: out)
            if rtx { rtxSequence &+= 1 }
            return written
        }
        guard length > 0 else { return false }
        transport.sentOctets &+= UInt64(length)
        transport.retransmitBudget -= length
        return true
    }
}
