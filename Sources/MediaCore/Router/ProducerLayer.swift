/// One simulcast encoding of a producer (or its only stream) as it arrives: its SSRCs, receive statistics
/// for receiver reports and layer selection, and the recent packets for serving viewers' NACKs.
final class ProducerLayer {
    let index: Int
    /// RTP stream id as bytes, compared with the RID header extension to bind the SSRC.
    let rid: [UInt8]
    var ssrc: UInt32
    var rtxSSRC: UInt32

    /// Highest sequence number seen, extended with its wrap count (RFC 3550 A.1), for receiver reports.
    @exclusivity(unchecked) var extendedHighestSequence: UInt32 = 0
    @exclusivity(unchecked) var receivedPackets: UInt64 = 0
    @exclusivity(unchecked) var lastPacketMs: Int64 = -1_000_000

    /// Bytes per temporal layer since the last rate update, and the resulting bitrates (bits/s) of
    /// temporal layers 0...t together (index t), smoothed.
    @exclusivity(unchecked) private var octets: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private(set) var bitrates: (Int, Int, Int, Int) = (0, 0, 0, 0)
    private var rateWindowStartMs: Int64 = -1
    /// Highest TID seen, so layer selection knows how many temporal layers there are.
    @exclusivity(unchecked) private(set) var maxTemporalLayer: UInt8 = 0

    let retransmissions: RetransmissionBuffer?
    let nacks: NackGenerator?

    /// The publisher's last sender report for this layer (RFC 3550 6.4.1): its NTP time, the RTP time that goes
    /// with it, and when it arrived here (µs, monotonic; < 0: none yet). Viewers' sender reports are derived
    /// from it, so their browsers can synchronise this stream with the publisher's others (lip sync).
    var senderReportNTP: UInt64 = 0
    var senderReportRTP: UInt32 = 0
    var senderReportArrivalMicroseconds: Int64 = -1

    func noteSenderReport(ntp: UInt64, rtp: UInt32, nowMicroseconds: Int64) {
        senderReportNTP = ntp
        senderReportRTP = rtp
        senderReportArrivalMicroseconds = nowMicroseconds
    }

    /// Largest packet a retransmission buffer keeps: an Ethernet MTU. Browsers send at most about 1200 bytes;
    /// a larger packet is forwarded but not kept (`RetransmissionBuffer.oversizedCount`).
    static let retransmissionSlotSize = 1500

    /// `retransmissionSlots`: packets the layer keeps for NACKs (a power of two; 0: none).
    init(index: Int, rid: String, ssrc: UInt32, rtxSSRC: UInt32, video: Bool, nack: Bool, retransmissionSlots: Int) {
        self.index = index
        self.rid = Array(rid.utf8)
        self.ssrc = ssrc
        self.rtxSSRC = rtxSSRC
        self.retransmissions = video && retransmissionSlots > 0
            ? RetransmissionBuffer(capacity: retransmissionSlots, maxPacketSize: Self.retransmissionSlotSize) : nil
        self.nacks = video && nack ? NackGenerator() : nil
    }

    /// Bytes this layer's retransmission buffer holds.
    var retransmissionBytes: Int { retransmissions.map { $0.capacity * $0.maxPacketSize } ?? 0 }

    /// Arriving recently enough to be worth switching to (a publisher may stop sending its top layer when
    /// its own bandwidth or CPU is short).
    @inline(__always)
    func isActive(nowMs: Int64) -> Bool { nowMs - lastPacketMs < 1_000 }

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

    @inline(__always)
    func noteOctets(_ count: Int, temporalLayer: UInt8, nowMs: Int64) {
        lastPacketMs = nowMs
        let bytes = UInt64(count)
        switch temporalLayer {
        case 0: octets.0 &+= bytes
        case 1: octets.1 &+= bytes
        case 2: octets.2 &+= bytes
        default: octets.3 &+= bytes
        }
        if temporalLayer > maxTemporalLayer { maxTemporalLayer = min(temporalLayer, 3) }
    }

    /// Folds the bytes counted since the last call into the bitrates (called from the worker's timer).
    func updateRates(nowMs: Int64) {
        guard rateWindowStartMs >= 0 else { rateWindowStartMs = nowMs; return }
        let elapsed = nowMs - rateWindowStartMs
        guard elapsed >= 1_000 else { return }
        func rate(_ bytes: UInt64) -> Int { Int(bytes * 8 * 1000 / UInt64(elapsed)) }
        let t0 = rate(octets.0), t1 = t0 + rate(octets.1), t2 = t1 + rate(octets.2), t3 = t2 + rate(octets.3)
        // Smooth over a few windows: keyframes make single windows jumpy.
        func smooth(_ old: Int, _ new: Int) -> Int { old == 0 ? new : (old * 3 + new * 2) / 5 }
        bitrates = (smooth(bitrates.0, t0), smooth(bitrates.1, t1), smooth(bitrates.2, t2), smooth(bitrates.3, t3))
        octets = (0, 0, 0, 0)
        rateWindowStartMs = nowMs
    }

    /// Bits per second of temporal layers 0...`temporal` of this layer (0 when nothing arrives).
    func bitrate(upToTemporal temporal: Int) -> Int {
        switch min(temporal, Int(maxTemporalLayer)) {
        case 0: bitrates.0
        case 1: bitrates.1
        case 2: bitrates.2
        default: bitrates.3
        }
    }
}
