/// Receiver Estimated Maximum Bitrate, REMB (draft-alvestrand-rmcat-remb-03 section 2.2):
/// PSFB, FMT 15, media SSRC 0, "REMB", SSRC count, 6-bit exponent and 18-bit mantissa, SSRCs.
public struct RTCPReceiverEstimatedMaxBitrate {
    public static let format: UInt8 = 15
    static let identifier: UInt32 = 0x5245_4D42  // "REMB"

    public let senderSSRC: UInt32
    /// Bits per second: mantissa × 2^exponent.
    public let bitrate: UInt64
    public let ssrcCount: Int
    let body: UnsafeRawBufferPointer

    public static func parse(_ packet: RTCPHeaderView) -> RTCPReceiverEstimatedMaxBitrate? {
        guard packet.packetType == RTCPPacketType.payloadSpecificFeedback, packet.count == format else { return nil }
        let body = packet.body
        guard body.count >= 16, body.u32(8) == identifier else { return nil }
        let count = Int(body[12])
        guard body.count >= 16 + count * 4 else { return nil }
        let exponent = UInt64(body[13] >> 2)
        let mantissa = UInt64(body.u24(13) & 0x3_FFFF)
        // 18-bit mantissa shifted by up to 63 overflows: saturate.
        let bitrate = exponent > 46 && mantissa != 0 ? UInt64.max : mantissa << exponent
        return RTCPReceiverEstimatedMaxBitrate(senderSSRC: body.u32(0), bitrate: bitrate, ssrcCount: count, body: body)
    }

    public func ssrc(_ index: Int) -> UInt32 {
        precondition(index >= 0 && index < ssrcCount)
        return body.u32(16 + index * 4)
    }

    /// Writes a REMB for up to 255 SSRCs; the bitrate is rounded down to 18 significant bits.
    public static func write(senderSSRC: UInt32, bitrate: UInt64, ssrcs: UnsafeBufferPointer<UInt32>, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let length = 20 + ssrcs.count * 4
        guard ssrcs.count <= 255, buffer.count >= length else { return 0 }
        var mantissa = bitrate
        var exponent: UInt32 = 0
        while mantissa > 0x3_FFFF { mantissa >>= 1; exponent += 1 }
        RTCPHeaderView.writeHeader(count: format, packetType: RTCPPacketType.payloadSpecificFeedback, length: length, into: buffer)
        buffer.put32(senderSSRC, at: 4)
        buffer.put32(0, at: 8)
        buffer.put32(identifier, at: 12)
        buffer[16] = UInt8(ssrcs.count)
        buffer.put24(exponent << 18 | UInt32(mantissa), at: 17)
        for (i, ssrc) in ssrcs.enumerated() { buffer.put32(ssrc, at: 20 + i * 4) }
        return length
    }
}
