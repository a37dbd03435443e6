/// Receiver report, RR (RFC 3550 section 6.4.2): reporter SSRC plus RC report blocks.
public struct RTCPReceiverReport {
    public let ssrc: UInt32
    public let reportCount: Int
    let body: UnsafeRawBufferPointer

    public static func parse(_ packet: RTCPHeaderView) -> RTCPReceiverReport? {
        guard packet.packetType == RTCPPacketType.receiverReport else { return nil }
        let body = packet.body
        let count = Int(packet.count)
        guard body.count >= 4 + count * RTCPReportBlock.length else { return nil }
        return RTCPReceiverReport(ssrc: body.u32(0), reportCount: count, body: body)
    }

    public func reportBlock(_ index: Int) -> RTCPReportBlock {
        precondition(index >= 0 && index < reportCount)
        return RTCPReportBlock(bytes: body, at: 4 + index * RTCPReportBlock.length)
    }

    /// Writes an RR with up to 31 report blocks (none is valid); returns its length or 0.
    public static func write(
        ssrc: UInt32, reportBlocks: UnsafeBufferPointer<RTCPReportBlock> = UnsafeBufferPointer(start: nil, count: 0),
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        let length = 8 + reportBlocks.count * RTCPReportBlock.length
        guard reportBlocks.count <= 31, buffer.count >= length else { return 0 }
        RTCPHeaderView.writeHeader(count: UInt8(reportBlocks.count), packetType: RTCPPacketType.receiverReport, length: length, into: buffer)
        buffer.put32(ssrc, at: 4)
        for (i, block) in reportBlocks.enumerated() { block.write(into: buffer, at: 8 + i * RTCPReportBlock.length) }
        return length
    }
}
