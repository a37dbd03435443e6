/// Sender reports to the viewer (RFC 3550 section 6.4.1): browsers need one per stream to synchronise audio with
/// video. Ours carry the publisher's last NTP ↔ RTP mapping for the layer this consumer forwards, moved forward by
/// the time since it arrived and put into the viewer's RTP time and our SSRC.
extension Consumer {
    /// A publisher that stopped sending SRs: after this, its viewers get none rather than a drifting guess.
    static let senderReportMaxAgeMicroseconds: Int64 = 30_000_000

    /// Writes this consumer's SR into `buffer`; 0 when there is none to send (nothing forwarded yet, no recent SR
    /// from the publisher) or no room.
    func writeSenderReport(nowMicroseconds now: Int64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard packetsSent > 0 else { return 0 }
        let layer = producer.layers[max(0, min(currentSpatial, producer.layers.count - 1))]
        guard layer.senderReportArrivalMicroseconds >= 0 else { return 0 }
        let elapsed = now - layer.senderReportArrivalMicroseconds
        guard elapsed >= 0, elapsed < Self.senderReportMaxAgeMicroseconds else { return 0 }
        let ntp = layer.senderReportNTP &+ UInt64(elapsed) * (1 << 32) / 1_000_000
        let rtp = layer.senderReportRTP &+ UInt32(truncatingIfNeeded: elapsed * Int64(clockRate) / 1_000_000)
        return RTCPSenderReport.write(
            ssrc: parameters.ssrc, ntpTimestamp: ntp, rtpTimestamp: outputTimestamp(forInput: rtp),
            packetCount: UInt32(truncatingIfNeeded: packetsSent), octetCount: UInt32(truncatingIfNeeded: octetsSent),
            into: buffer)
    }
}
