/// Picture Loss Indication, PLI (RFC 4585 section 6.3.1): PSFB, FMT 1, no FCI. Asks the sender
/// of `mediaSSRC` for a keyframe.
public struct RTCPPictureLossIndication: Sendable, Hashable {
    public static let format: UInt8 = 1
    public static let length = 12

    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32

    public init(senderSSRC: UInt32, mediaSSRC: UInt32) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
    }

    public static func parse(_ packet: RTCPHeaderView) -> RTCPPictureLossIndication? {
        guard packet.packetType == RTCPPacketType.payloadSpecificFeedback, packet.count == format else { return nil }
        let body = packet.body
        guard body.count >= 8 else { return nil }
        return RTCPPictureLossIndication(senderSSRC: body.u32(0), mediaSSRC: body.u32(4))
    }

    public static func write(senderSSRC: UInt32, mediaSSRC: UInt32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard buffer.count >= length else { return 0 }
        RTCPHeaderView.writeHeader(count: format, packetType: RTCPPacketType.payloadSpecificFeedback, length: length, into: buffer)
        buffer.put32(senderSSRC, at: 4)
        buffer.put32(mediaSSRC, at: 8)
        return length
    }
}
