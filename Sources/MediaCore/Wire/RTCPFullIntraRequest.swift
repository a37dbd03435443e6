/// Full Intra Request, FIR (RFC 5104 section 4.3.1): PSFB, FMT 4. The media source SSRC is 0;
/// each 8-byte FCI entry names the target SSRC and a command sequence number.
public struct RTCPFullIntraRequest {
    public static let format: UInt8 = 4

    public let senderSSRC: UInt32
    public let entryCount: Int
    let body: UnsafeRawBufferPointer

    public static func parse(_ packet: RTCPHeaderView) -> RTCPFullIntraRequest? {
        guard packet.packetType == RTCPPacketType.payloadSpecificFeedback, packet.count == format else { return nil }
        let body = packet.body
        guard body.count >= 8, (body.count - 8) % 8 == 0 else { return nil }
        return RTCPFullIntraRequest(senderSSRC: body.u32(0), entryCount: (body.count - 8) / 8, body: body)
    }

    public func entry(_ index: Int) -> (ssrc: UInt32, sequenceNumber: UInt8) {
        precondition(index >= 0 && index < entryCount)
        return (body.u32(8 + index * 8), body[12 + index * 8])
    }

    /// Writes a FIR with one entry; returns 20 or 0 if it does not fit.
    public static func write(senderSSRC: UInt32, targetSSRC: UInt32, sequenceNumber: UInt8, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let length = 20
        guard buffer.count >= length else { return 0 }
        RTCPHeaderView.writeHeader(count: format, packetType: RTCPPacketType.payloadSpecificFeedback, length: length, into: buffer)
        buffer.put32(senderSSRC, at: 4)
        buffer.put32(0, at: 8)
        buffer.put32(targetSSRC, at: 12)
        buffer.put32(UInt32(sequenceNumber) << 24, at: 16)
        return length
    }
}
