/// Sender report, SR (RFC 3550 section 6.4.1): sender info plus RC report blocks.
public struct RTCPSenderReport {
    public let ssrc: UInt32
    /// 64-bit NTP timestamp (seconds since 1900 in the high 32 bits).
    public let ntpTimestamp: UInt64
    public let rtpTimestamp: UInt32
    public let packetCount: UInt32
    public let octetCount: UInt32
    public let reportCount: Int
    let body: UnsafeRawBufferPointer
    /// An SR without report blocks: header and sender info.
    public static let minimumLength = 28

    public static func parse(_ packet: RTCPHeaderView) -> RTCPSenderReport? {
        guard packet.packetType == RTCPPacketType.senderReport else { return nil }
        let body = packet.body
        let count = Int(packet.count)
        guard body.count >= 24 + count * RTCPReportBlock.length else { return nil }
        return RTCPSenderReport(
            ssrc: body.u32(0), ntpTimestamp: body.u64(4), rtpTimestamp: body.u32(12),
            packetCount: body.u32(16), octetCount: body.u32(20), reportCount: count, body: body)
    }

    /// Report block `index` (< reportCount).
    public func reportBlock(_ index: Int) -> RTCPReportBlock {
        precondition(index >= 0 && index < reportCount)
        return RTCPReportBlock(bytes: body, at: 24 + index * RTCPReportBlock.length)
    }

    /// Writes an SR with up to 31 report blocks; returns its length or 0 if it does not fit.
    public static func write(
        ssrc: UInt32, ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32, octetCount: UInt32,
        reportBlocks: UnsafeBufferPointer<RTCPReportBlock> = UnsafeBufferPointer(start: nil, count: 0),
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        let length = 28 + reportBlocks.count * RTCPReportBlock.length
        guard reportBlocks.count <= 31, buffer.count >= length else { return 0 }
        RTCPHeaderView.writeHeader(count: UInt8(reportBlocks.count), packetType: RTCPPacketType.senderReport, length: length, into: buffer)
        buffer.put32(ssrc, at: 4)
        buffer.put64(ntpTimestamp, at: 8)
        buffer.put32(rtpTimestamp, at: 16)
        buffer.put32(packetCount, at: 20)
        buffer.put32(octetCount, at: 24)
        for (i, block) in reportBlocks.enumerated() { block.write(into: buffer, at: 28 + i * RTCPReportBlock.length) }
        return length
    }
}
